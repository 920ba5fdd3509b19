package lg

import "testing"

func TestLevels(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Level
		label string
	}{{"debug", Debug, "DEBUG"}, {"INFO", Info, "INFO"}, {"Warn", Warn, "WARNING"}, {"error", Error, "ERROR"}, {"fatal", Fatal, "FATAL"}} {
		l, err := Parse(tc.in)
		if err != nil || l != tc.want || l.String() != tc.label || !l.Valid() {
			t.Errorf("%s: %v %v %s", tc.in, l, err, l.String())
		}
	}
	if _, err := Parse("loud"); err == nil || err.Error() != "invalid log level 'loud' (debug, info, warn, error, fatal)" {
		t.Errorf("loud: %v", err)
	}
	var l Level
	if err := l.Set("warn"); err != nil || l != Warn || int(l) != 3 {
		t.Errorf("Set: %v %d", err, l)
	}
	if Level(9).Valid() || Level(9).String() != "invalid" || Level(0).Valid() {
		t.Error("out-of-range levels")
	}
}
