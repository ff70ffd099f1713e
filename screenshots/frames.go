package screenshots

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
)

// cell is a table cell: a label value or a number.
type cell struct {
	s     string
	f     float64
	num   bool
	valid bool // false: empty (no value in this row)
}

// frame is a table: named columns and rows of cells.
type frame struct {
	cols []string
	rows [][]cell
}

func (f *frame) col(name string) int {
	for i, c := range f.cols {
		if c == name {
			return i
		}
	}
	return -1
}

// tableFrame is a table query's result as Grafana's Prometheus data source
// makes it: a Time column (milliseconds), one column per label (sorted),
// and the value,
// named "Value" or, when the panel has several queries, "Value #<refId>".
func tableFrame(series []Series, refID string, several bool) frame {
	labels := map[string]bool{}
	for _, s := range series {
		for k := range s.Labels {
			if k != "__name__" {
				labels[k] = true
			}
		}
	}
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	value := "Value"
	if several {
		value += " #" + refID
	}
	f := frame{cols: append(append([]string{"Time"}, names...), value)}
	for _, s := range series {
		row := make([]cell, 0, len(f.cols))
		var v float64 = math.NaN()
		var ts float64
		if len(s.Points) > 0 {
			p := s.Points[len(s.Points)-1]
			v, ts = p.V, float64(p.T.UnixMilli())
		}
		row = append(row, cell{f: ts, num: true, valid: true})
		for _, n := range names {
			l, ok := s.Labels[n]
			row = append(row, cell{s: l, valid: ok})
		}
		row = append(row, cell{f: v, num: true, valid: true})
		f.rows = append(f.rows, row)
	}
	return f
}

// merge joins frames into one, as Grafana's merge transformation does:
// rows whose shared label columns are equal become one row.
func merge(frames []frame) frame {
	var out frame
	index := map[string]int{}
	addCol := func(c string) int {
		if i, ok := index[c]; ok {
			return i
		}
		index[c] = len(out.cols)
		out.cols = append(out.cols, c)
		for i := range out.rows {
			out.rows[i] = append(out.rows[i], cell{})
		}
		return index[c]
	}
	for _, f := range frames {
		for _, c := range f.cols {
			addCol(c)
		}
	}
	isKey := func(c string) bool { return c != "Time" && !strings.HasPrefix(c, "Value") }
	for _, f := range frames {
		for _, r := range f.rows {
			var target []cell
			for _, cand := range out.rows {
				match := true
				for j, c := range f.cols {
					if !isKey(c) {
						continue
					}
					oc := cand[index[c]]
					if !oc.valid || oc.s != r[j].s || !r[j].valid {
						match = false
						break
					}
				}
				// The candidate must not already hold this frame's values.
				for j, c := range f.cols {
					if !isKey(c) && c != "Time" && cand[index[c]].valid && r[j].valid {
						match = false
					}
				}
				if match {
					target = cand
					break
				}
			}
			if target == nil {
				target = make([]cell, len(out.cols))
				out.rows = append(out.rows, target)
			}
			for j, c := range f.cols {
				if r[j].valid {
					target[index[c]] = r[j]
				}
			}
		}
	}
	return out
}

// groupingToMatrix pivots a frame: one row per rowField value, one column
// per columnField value, cells from valueField.
func groupingToMatrix(f frame, rowField, colField, valField string) (frame, error) {
	ri, ci, vi := f.col(rowField), f.col(colField), f.col(valField)
	if ri < 0 || ci < 0 || vi < 0 {
		if len(f.rows) == 0 {
			return frame{cols: []string{rowField + "\\" + colField}}, nil
		}
		return frame{}, fmt.Errorf("groupingToMatrix: fields %q, %q, %q not all in %v", rowField, colField, valField, f.cols)
	}
	var rowKeys, colKeys []string
	seenR, seenC := map[string]bool{}, map[string]bool{}
	vals := map[[2]string]cell{}
	for _, r := range f.rows {
		rk, ck := r[ri].s, r[ci].s
		if !seenR[rk] {
			seenR[rk] = true
			rowKeys = append(rowKeys, rk)
		}
		if !seenC[ck] {
			seenC[ck] = true
			colKeys = append(colKeys, ck)
		}
		vals[[2]string{rk, ck}] = r[vi]
	}
	out := frame{cols: append([]string{rowField + "\\" + colField}, colKeys...)}
	for _, rk := range rowKeys {
		row := []cell{{s: rk, valid: true}}
		for _, ck := range colKeys {
			row = append(row, vals[[2]string{rk, ck}])
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}

// organize drops, renames and orders columns as Grafana's organize
// transformation (indexByName is matched against the new name, then the
// old one).
func organize(f frame, raw json.RawMessage) (frame, error) {
	var o struct {
		ExcludeByName map[string]bool   `json:"excludeByName"`
		IndexByName   map[string]int    `json:"indexByName"`
		RenameByName  map[string]string `json:"renameByName"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &o); err != nil {
			return frame{}, fmt.Errorf("organize: %w", err)
		}
	}
	type col struct {
		old, name string
		i         int
	}
	var cols []col
	for i, c := range f.cols {
		if o.ExcludeByName[c] {
			continue
		}
		name := c
		if r, ok := o.RenameByName[c]; ok && r != "" {
			name = r
		}
		cols = append(cols, col{c, name, i})
	}
	pos := func(c col) int {
		if p, ok := o.IndexByName[c.name]; ok {
			return p
		}
		if p, ok := o.IndexByName[c.old]; ok {
			return p
		}
		return 1000 + c.i
	}
	sort.SliceStable(cols, func(a, b int) bool { return pos(cols[a]) < pos(cols[b]) })
	out := frame{}
	for _, c := range cols {
		out.cols = append(out.cols, c.name)
	}
	for _, r := range f.rows {
		row := make([]cell, len(cols))
		for j, c := range cols {
			row[j] = r[c.i]
		}
		out.rows = append(out.rows, row)
	}
	return out, nil
}

// transform applies a panel's transformations to its frames and returns
// the table it shows (the first frame when nothing merges them).
func transform(frames []frame, ts []Transformation) (frame, error) {
	for _, t := range ts {
		var err error
		switch t.ID {
		case "merge":
			frames = []frame{merge(frames)}
		case "organize":
			for i := range frames {
				if frames[i], err = organize(frames[i], t.Options); err != nil {
					return frame{}, err
				}
			}
		case "groupingToMatrix":
			var o struct{ RowField, ColumnField, ValueField string }
			if err := json.Unmarshal(t.Options, &o); err != nil {
				return frame{}, fmt.Errorf("groupingToMatrix: %w", err)
			}
			for i := range frames {
				if frames[i], err = groupingToMatrix(frames[i], o.RowField, o.ColumnField, o.ValueField); err != nil {
					return frame{}, err
				}
			}
		default:
			return frame{}, fmt.Errorf("transformation %q is not supported by the renderer", t.ID)
		}
	}
	if len(frames) == 0 {
		return frame{}, nil
	}
	return frames[0], nil
}

// sortRows sorts by a column (numbers numerically, empty cells last).
func sortRows(f *frame, col string, desc bool) {
	i := f.col(col)
	if i < 0 {
		return
	}
	sort.SliceStable(f.rows, func(a, b int) bool {
		x, y := f.rows[a][i], f.rows[b][i]
		if x.valid != y.valid {
			return x.valid
		}
		var less bool
		if x.num && y.num {
			if desc {
				return x.f > y.f
			}
			return x.f < y.f
		}
		if desc {
			less = x.s > y.s
		} else {
			less = x.s < y.s
		}
		return less
	})
}
