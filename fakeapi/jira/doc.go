// Package jira is the fake Jira REST API, mirroring collectors/jira: a Site
// (projects, users, statuses, fields including a team field, versions,
// issues; every change writes a changelog history and bumps updated;
// comments) and API, an http.Handler serving it as Jira Cloud (search/jql
// with nextPageToken and the 20-comment cut, changelog/bulkfetch, issue
// comments, field, status; the removed /search answers 410 with
// Atlassian's body) or Data Center (/rest/api/2/search with startAt and the
// full expand=changelog), with Basic (Cloud) or Bearer (Data Center) auth,
// the JQL subset the collector sends (400 for others, as Jira answers),
// search lag and Cloud's request rate limit. Fault knobs, the request log
// and the clock are shared with the fake GitHub (package fakeapi).
package jira
