package engine

import (
	"sort"
	"time"

	"github.com/crossteam/crossteam/config"
)

// workClock measures durations in one team's working calendar: only the
// part of an interval that falls inside working hours on a working day that
// is not a holiday counts. A nil *workClock measures calendar time.
//
// The computation is O(1 + holidays in range): whole weeks are counted
// arithmetically and only the partial days at both ends are walked, so a
// month-long stalled handoff costs the same as an hour-long one.
type workClock struct {
	loc        *time.Location
	days       [7]bool
	startSec   int64   // working window start, seconds after local midnight
	endSec     int64   // working window end
	perWeek    int64   // working days per week
	holidays   []int64 // sorted civil day numbers of holidays on working days
	dayWorkSec int64
}

func newWorkClock(c *config.Calendar) *workClock {
	if c == nil {
		return nil
	}
	w := &workClock{loc: c.Location, days: c.Days, startSec: int64(c.StartMin) * 60, endSec: int64(c.EndMin) * 60}
	if w.loc == nil {
		w.loc = time.UTC
	}
	for _, d := range w.days {
		if d {
			w.perWeek++
		}
	}
	w.dayWorkSec = w.endSec - w.startSec
	for d := range c.Holiday {
		n := civilDays(d.Y, d.M, d.D)
		if w.days[weekdayOf(n)] {
			w.holidays = append(w.holidays, n)
		}
	}
	sort.Slice(w.holidays, func(i, j int) bool { return w.holidays[i] < w.holidays[j] })
	return w
}

// civilDays returns the number of days since 1970-01-01 of a civil date
// (Howard Hinnant's days_from_civil).
func civilDays(y int, m time.Month, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era = (yy - 399) / 400
	}
	yoe := yy - era*400
	mm := int64(m)
	var mp int64
	if mm > 2 {
		mp = mm - 3
	} else {
		mp = mm + 9
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// weekdayOf returns the weekday of a civil day number (1970-01-01 was a Thursday).
func weekdayOf(n int64) time.Weekday {
	w := (n + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

func (w *workClock) isWorkDay(n int64) bool {
	if !w.days[weekdayOf(n)] {
		return false
	}
	i := sort.Search(len(w.holidays), func(i int) bool { return w.holidays[i] >= n })
	return i == len(w.holidays) || w.holidays[i] != n
}

// local returns the civil day number and the seconds after local midnight.
func (w *workClock) local(t time.Time) (int64, int64) {
	lt := t.In(w.loc)
	y, m, d := lt.Date()
	h, mi, s := lt.Clock()
	return civilDays(y, m, d), int64(h)*3600 + int64(mi)*60 + int64(s)
}

func clamp(v, lo, hi int64) int64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// workDaysBetween counts working days in the civil day range [a, b].
func (w *workClock) workDaysBetween(a, b int64) int64 {
	if b < a {
		return 0
	}
	n := b - a + 1
	count := (n / 7) * w.perWeek
	for i := a + (n/7)*7; i <= b; i++ {
		if w.days[weekdayOf(i)] {
			count++
		}
	}
	lo := sort.Search(len(w.holidays), func(i int) bool { return w.holidays[i] >= a })
	hi := sort.Search(len(w.holidays), func(i int) bool { return w.holidays[i] > b })
	return count - int64(hi-lo)
}

// between returns the working time in [a, b]; zero when b is not after a.
func (w *workClock) between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if w == nil {
		return b.Sub(a)
	}
	da, sa := w.local(a)
	db, sb := w.local(b)
	var sec int64
	if da == db {
		if w.isWorkDay(da) {
			sec = clamp(sb, w.startSec, w.endSec) - clamp(sa, w.startSec, w.endSec)
		}
	} else {
		if w.isWorkDay(da) {
			sec += w.endSec - clamp(sa, w.startSec, w.endSec)
		}
		if w.isWorkDay(db) {
			sec += clamp(sb, w.startSec, w.endSec) - w.startSec
		}
		sec += w.workDaysBetween(da+1, db-1) * w.dayWorkSec
	}
	if sec < 0 {
		sec = 0
	}
	// Sub-second precision of the ends is kept for calendar time only;
	// working time is whole seconds.
	return time.Duration(sec) * time.Second
}
