#include "pop3/dot-decoder.h"

#include <algorithm>
#include <cstring>

namespace mailmove::pop3 {

DotDecoder::Step DotDecoder::decode(std::string_view in, char *out, size_t out_len)
{
	Step step;
	while (step.consumed < in.size() && state_ != State::finished) {
		char c = in[step.consumed];
		switch (state_) {
		case State::line_start:
			if (c == '.') {
				state_ = State::dot;
				step.consumed++;
				break;
			}
			state_ = State::in_line;
			break;
		case State::in_line: {
			/* Copy up to the end of the line in one go. */
			size_t room = std::min(in.size() - step.consumed, out_len - step.produced);
			if (room == 0)
				return step;
			const char *from = in.data() + step.consumed;
			const char *lf = static_cast<const char *>(std::memchr(from, '\n', room));
			size_t n = lf == nullptr ? room : size_t(lf - from) + 1;
			std::memcpy(out + step.produced, from, n);
			step.consumed += n;
			step.produced += n;
			if (lf != nullptr)
				state_ = State::line_start;
			break;
		}
		case State::dot:
			if (c == '\r') {
				state_ = State::dot_cr;
				step.consumed++;
			} else if (c == '\n') {
				state_ = State::finished;
				step.consumed++;
			} else {
				/* The leading dot was stuffing: the line goes on
				   with this byte (often the original dot). */
				state_ = State::in_line;
			}
			break;
		case State::dot_cr:
			if (c == '\n') {
				state_ = State::finished;
				step.consumed++;
				break;
			}
			/* ".\r" and more: the dot was stuffing, the CR is
			   message content. */
			if (step.produced == out_len)
				return step;
			out[step.produced++] = '\r';
			state_ = State::in_line;
			break;
		case State::finished:
			break;
		}
	}
	return step;
}

} // namespace mailmove::pop3
