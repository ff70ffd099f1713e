package dashboards

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MarkdownTables renders one table per dashboard (panel, what it shows)
// from the generated JSON, for the README; so the README can be kept equal
// to the boards by a test, like the metric table.
func MarkdownTables() (string, error) {
	var b strings.Builder
	for _, board := range Boards {
		data, err := board.Render()
		if err != nil {
			return "", err
		}
		var d struct {
			Description string `json:"description"`
			Panels      []struct {
				Type        string `json:"type"`
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return "", fmt.Errorf("dashboard %s: %w", board.UID, err)
		}
		fmt.Fprintf(&b, "#### %s (`/d/%s`)\n\n%s\n\n| panel | what it shows |\n|---|---|\n", board.Title, board.UID, d.Description)
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |\n", strings.ReplaceAll(p.Title, "|", `\|`), strings.ReplaceAll(p.Description, "|", `\|`))
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}
