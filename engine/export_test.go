package engine

import "fmt"

// DebugItems renders the records each item of a State holds, so
// TestIncrementalMatchesScratch can name the items whose incremental
// derivation differs from a fresh one.
func DebugItems(s *State) map[string]string {
	out := map[string]string{}
	for k, d := range s.items {
		if d.recs != nil {
			out[k.source+"/"+k.key] = fmt.Sprintf("%+v edges=%+v node=%+v", d.recs.Records, d.recs.Edges, d.recs.Node)
		}
	}
	return out
}
