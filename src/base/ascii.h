// Case folding for protocol words and host names, which are ASCII: unlike
// std::tolower it does not depend on the process's locale.
#pragma once

#include <string>

namespace mailmove {

inline std::string ascii_lowercase(std::string text)
{
	for (char &c : text) {
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	}
	return text;
}

} // namespace mailmove
