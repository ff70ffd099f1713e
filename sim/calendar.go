package sim

import (
	"fmt"
	"time"
)

// calendar is a team's working week, used to place activity in working
// hours (so work handed over on a Friday evening waits for Monday). It is
// written into the generated configuration as the team's calendar.
type calendar struct {
	tz         string
	loc        *time.Location
	startMin   int // minutes after local midnight
	endMin     int
	days       [7]bool // by time.Weekday
	daysConfig []string
}

// calendars by team position; teams beyond the list reuse it.
var calendarSpecs = []struct {
	tz         string
	start, end int // hours
	days       []string
}{
	{"Europe/Berlin", 9, 17, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"Europe/Lisbon", 9, 18, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"America/New_York", 9, 17, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"Asia/Kolkata", 10, 18, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"UTC", 8, 20, []string{"mon", "tue", "wed", "thu", "fri", "sat"}},
	{"America/Los_Angeles", 9, 17, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"Asia/Tokyo", 9, 18, []string{"mon", "tue", "wed", "thu", "fri"}},
	{"Australia/Sydney", 9, 17, []string{"mon", "tue", "wed", "thu", "fri"}},
}

var weekdayIndex = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func newCalendar(i int) (*calendar, error) {
	s := calendarSpecs[i%len(calendarSpecs)]
	loc, err := time.LoadLocation(s.tz)
	if err != nil {
		return nil, fmt.Errorf("sim: calendar time zone %s: %w", s.tz, err)
	}
	c := &calendar{tz: s.tz, loc: loc, startMin: s.start * 60, endMin: s.end * 60, daysConfig: s.days}
	for _, d := range s.days {
		c.days[weekdayIndex[d]] = true
	}
	return c, nil
}

// bounds returns the working interval of the local day containing t.
func (c *calendar) bounds(t time.Time) (start, end time.Time) {
	y, m, d := t.Date()
	start = time.Date(y, m, d, c.startMin/60, c.startMin%60, 0, 0, c.loc)
	end = time.Date(y, m, d, c.endMin/60, c.endMin%60, 0, 0, c.loc)
	return start, end
}

// nextDay is local midnight of the day after t.
func (c *calendar) nextDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
}

// workAfter returns the instant d of working time after t (t itself is
// moved to the next working instant first).
func (c *calendar) workAfter(t time.Time, d time.Duration) time.Time {
	lt := t.In(c.loc)
	for i := 0; i < 5000; i++ {
		start, end := c.bounds(lt)
		if !c.days[lt.Weekday()] || !lt.Before(end) {
			lt = c.nextDay(lt)
			continue
		}
		if lt.Before(start) {
			lt = start
		}
		if avail := end.Sub(lt); d <= avail {
			return lt.Add(d).UTC()
		} else {
			d -= avail
		}
		lt = c.nextDay(lt)
	}
	return lt.Add(d).UTC() // unreachable for sane durations
}

// between is the working time in [a, b).
func (c *calendar) between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var d time.Duration
	lt := a.In(c.loc)
	for lt.Before(b) {
		start, end := c.bounds(lt)
		if c.days[lt.Weekday()] {
			s, e := start, end
			if lt.After(s) {
				s = lt
			}
			if b.Before(e) {
				e = b
			}
			if e.After(s) {
				d += e.Sub(s)
			}
		}
		lt = c.nextDay(lt)
	}
	return d
}
