package review

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Week is an ISO 8601 week: Monday to Monday, numbered within its ISO year.
type Week struct {
	Year, Num int
}

var weekRE = regexp.MustCompile(`^(\d{4})-W(\d{2})$`)

// ParseWeek reads "2026-W48".
func ParseWeek(s string) (Week, error) {
	m := weekRE.FindStringSubmatch(s)
	if m == nil {
		return Week{}, fmt.Errorf("week %q: want an ISO week like 2026-W48", s)
	}
	y, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	if n < 1 || n > weeksIn(y) {
		return Week{}, fmt.Errorf("week %q: %d has weeks 01 to %02d", s, y, weeksIn(y))
	}
	return Week{y, n}, nil
}

// weeksIn is the number of ISO weeks of year y: 28 December is always in
// the last one.
func weeksIn(y int) int {
	_, w := time.Date(y, 12, 28, 12, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

// String is the ISO form, 2026-W48.
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Num) }

// Start is Monday 00:00 of the week in loc.
func (w Week) Start(loc *time.Location) time.Time {
	// 4 January is always in week 1.
	jan4 := time.Date(w.Year, 1, 4, 0, 0, 0, 0, loc)
	back := (int(jan4.Weekday()) + 6) % 7 // days since Monday
	return time.Date(w.Year, 1, 4-back+7*(w.Num-1), 0, 0, 0, 0, loc)
}

// End is the start of the next week in loc (exclusive).
func (w Week) End(loc *time.Location) time.Time { return w.Add(1).Start(loc) }

// Add moves n weeks.
func (w Week) Add(n int) Week {
	s := w.Start(time.UTC)
	return WeekOf(time.Date(s.Year(), s.Month(), s.Day()+7*n, 12, 0, 0, 0, time.UTC), time.UTC)
}

// Before orders weeks.
func (w Week) Before(o Week) bool {
	return w.Year < o.Year || w.Year == o.Year && w.Num < o.Num
}

// WeekOf is the week holding t in loc.
func WeekOf(t time.Time, loc *time.Location) Week {
	y, n := t.In(loc).ISOWeek()
	return Week{y, n}
}

// LastComplete is the last week that ended at or before now in loc.
func LastComplete(now time.Time, loc *time.Location) Week {
	return WeekOf(now, loc).Add(-1)
}
