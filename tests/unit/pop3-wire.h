// How a POP3 server sends a message in a multi-line response: every line
// that starts with "." gets another one in front, and a line holding only
// "." ends it.
#pragma once

#include <string>

namespace fake {

inline std::string pop3_wire(const std::string &message)
{
	std::string wire;
	bool line_start = true;
	for (char c : message) {
		if (line_start && c == '.')
			wire += '.';
		wire += c;
		line_start = c == '\n';
	}
	return wire + ".\r\n";
}

} // namespace fake
