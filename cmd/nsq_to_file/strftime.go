package main

import "time"

// strftimeLayouts maps the strftime directives nsq_to_file supports (as
// upstream) to Go layouts.
var strftimeLayouts = map[byte]string{
	'B': "January", 'b': "Jan", 'm': "01",
	'A': "Monday", 'a': "Mon", 'd': "02",
	'H': "15", 'I': "03", 'M': "04", 'S': "05",
	'Y': "2006", 'y': "06", 'p': "PM",
	'Z': "MST", 'z': "-0700",
}

// strftime formats t by format: %B %b %m %A %a %d %H %I %M %S %Y %y %p %Z
// %z and %% are replaced; anything else, including an unknown directive,
// is copied as it is.
func strftime(format string, t time.Time) string {
	out := make([]byte, 0, len(format)+16)
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			out = append(out, c)
			continue
		}
		next := format[i+1]
		if next == '%' {
			out = append(out, '%')
			i++
			continue
		}
		layout, ok := strftimeLayouts[next]
		if !ok {
			out = append(out, c)
			continue
		}
		out = t.AppendFormat(out, layout)
		i++
	}
	return string(out)
}
