package sim

// jiraGen is the Jira side of the world.
type jiraGen struct{}
