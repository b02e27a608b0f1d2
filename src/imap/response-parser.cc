#include "imap/response-parser.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <stdexcept>

#include "base/failure.h"
#include "base/line-codec.h"

namespace mailmove::imap {

namespace {

constexpr size_t max_trace_bytes = 300;

// Untagged responses without a leading number whose arguments we
// tokenize. Others keep their remainder as raw text: a server's private
// response with odd syntax must not break the connection.
bool is_tokenized_keyword(std::string_view keyword)
{
	static constexpr std::string_view tokenized[] = {
		"CAPABILITY", "FLAGS", "LIST", "LSUB", "XLIST", "STATUS", "ID",
		"SEARCH", "ESEARCH", "NAMESPACE", "ENABLED",
	};
	for (std::string_view known : tokenized) {
		if (keyword == known)
			return true;
	}
	return false;
}

std::string_view skip_spaces(std::string_view text)
{
	while (!text.empty() && text.front() == ' ')
		text.remove_prefix(1);
	return text;
}

// Takes the next word, ending at a space or at one of stop_chars.
std::string_view next_word(std::string_view &text, std::string_view stop_chars = "")
{
	text = skip_spaces(text);
	size_t end = 0;
	while (end < text.size() && text[end] != ' ' &&
	       stop_chars.find(text[end]) == std::string_view::npos)
		end++;
	std::string_view word = text.substr(0, end);
	text.remove_prefix(end);
	return word;
}

bool is_all_digits(std::string_view text)
{
	return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

struct LiteralHeader {
	uint64_t size = 0;
	std::string_view before; // the line up to the '{'
};

// A line announcing a literal ends in "{N}" (or "{N+}", which servers
// should not send but some do).
std::optional<LiteralHeader> split_literal_header(std::string_view line)
{
	if (line.empty() || line.back() != '}')
		return std::nullopt;
	size_t open = line.rfind('{');
	if (open == std::string_view::npos)
		return std::nullopt;
	std::string_view digits = line.substr(open + 1, line.size() - open - 2);
	if (!digits.empty() && digits.back() == '+')
		digits.remove_suffix(1);
	std::optional<uint64_t> size = parse_decimal<uint64_t>(digits);
	if (!size)
		return std::nullopt;
	return LiteralHeader{*size, line.substr(0, open)};
}

// Section and partial specs ("BODY[HEADER.FIELDS (FROM)]") belong to the
// atom, spaces and parentheses included.
size_t find_closing_bracket(std::string_view text, size_t open)
{
	int depth = 0;
	for (size_t i = open; i < text.size(); i++) {
		if (text[i] == '[')
			depth++;
		else if (text[i] == ']' && --depth == 0)
			return i;
	}
	return std::string_view::npos;
}

Value make_value(Value::Kind kind, std::string text = {})
{
	Value value;
	value.kind = kind;
	value.text = std::move(text);
	return value;
}

} // namespace

ResponseParser::ResponseParser(ParserLimits limits) : limits_(limits)
{
}

bool ResponseParser::in_response() const
{
	return shape_ != Shape::unknown || !line_.empty() || phase_ != Phase::line;
}

void ResponseParser::hold(uint64_t bytes)
{
	if (bytes > limits_.max_response_bytes ||
	    held_bytes_ + line_.size() + bytes > limits_.max_response_bytes) {
		std::string_view start = response_.trace.empty() ? line_ : response_.trace;
		throw Failure(FailureKind::temporary,
			      "server sent a response longer than " +
				      std::to_string(limits_.max_response_bytes) +
				      " bytes: " + printable_excerpt(start));
	}
}

void ResponseParser::malformed(std::string_view what) const
{
	throw Failure(FailureKind::permanent, "malformed IMAP response (" + std::string(what) +
						      "): " + printable_excerpt(response_.trace));
}

ResponseParser::Status ResponseParser::feed(std::string_view data, size_t &consumed_r)
{
	if (phase_ == Phase::message_body || phase_ == Phase::complete)
		throw std::logic_error("ResponseParser fed before the previous result was handled");

	consumed_r = 0;
	while (consumed_r < data.size()) {
		std::string_view rest = data.substr(consumed_r);
		if (phase_ == Phase::literal) {
			consumed_r += read_literal(rest);
			continue;
		}
		size_t lf = rest.find('\n');
		size_t line_bytes = lf == std::string_view::npos ? rest.size() : lf;
		hold(line_bytes);
		line_.append(rest.substr(0, line_bytes));
		if (lf == std::string_view::npos) {
			consumed_r = data.size();
			break;
		}
		consumed_r += lf + 1;
		Status status = end_of_line();
		if (status != Status::need_more)
			return status;
	}
	return Status::need_more;
}

ResponseParser::Status ResponseParser::end_of_line()
{
	std::string line = std::move(line_);
	line_.clear();
	// Servers may end lines with a bare LF.
	if (!line.empty() && line.back() == '\r')
		line.pop_back();
	held_bytes_ += line.size();
	if (response_.trace.size() < max_trace_bytes)
		response_.trace += line.substr(0, max_trace_bytes - response_.trace.size());

	std::string_view rest = line;
	if (shape_ == Shape::unknown) {
		// A stray empty line between responses is not a response.
		if (trim_spaces(rest).empty()) {
			held_bytes_ = 0;
			response_.trace.clear();
			return Status::need_more;
		}
		rest = parse_head(rest);
	}

	std::optional<LiteralHeader> literal;
	if (shape_ == Shape::tokenized || shape_ == Shape::raw_text) {
		literal = split_literal_header(rest);
		if (literal)
			rest = literal->before;
	}
	if (shape_ == Shape::tokenized)
		tokenize(rest);
	else if (shape_ == Shape::raw_text)
		response_.text += std::string(rest);

	if (!literal) {
		if (open_lists_.size() > 1)
			malformed("unclosed parenthesis");
		phase_ = Phase::complete;
		return Status::response;
	}
	if (shape_ == Shape::tokenized && at_message_body_item()) {
		message_body_size_ = literal->size;
		phase_ = Phase::message_body;
		return Status::message_body;
	}
	start_literal(literal->size, shape_ == Shape::raw_text);
	return Status::need_more;
}

// Reads the tag (or "*" / "+") and the keyword, and decides the shape
// of the rest. Returns what follows the keyword.
std::string_view ResponseParser::parse_head(std::string_view line)
{
	std::string_view first = next_word(line);
	if (first == "+") {
		response_.kind = Response::Kind::continuation;
		response_.text = std::string(trim_spaces(line));
		shape_ = Shape::status;
		return {};
	}
	if (first == "*") {
		response_.kind = Response::Kind::untagged;
	} else {
		response_.kind = Response::Kind::tagged;
		response_.tag = std::string(first);
	}

	std::string_view keyword = next_word(line, "[");
	if (response_.kind == Response::Kind::untagged && is_all_digits(keyword)) {
		response_.number = parse_decimal<uint32_t>(keyword);
		if (!response_.number)
			malformed("message number out of range");
		keyword = next_word(line, "[");
	}
	if (keyword.empty())
		malformed("no keyword");
	response_.keyword = to_upper(keyword);

	if (response_.is_status()) {
		parse_status_text(line);
		shape_ = Shape::status;
		return {};
	}
	if (response_.kind == Response::Kind::tagged)
		malformed("tagged response is not OK, NO or BAD");
	if (response_.number || is_tokenized_keyword(response_.keyword)) {
		shape_ = Shape::tokenized;
		open_lists_.assign(1, &response_.args);
		return line;
	}
	shape_ = Shape::raw_text;
	return skip_spaces(line);
}

// "[CODE args] text", the code being optional.
void ResponseParser::parse_status_text(std::string_view text)
{
	text = skip_spaces(text);
	if (!text.empty() && text.front() == '[') {
		size_t close = text.find(']');
		if (close != std::string_view::npos) {
			std::string_view inside = text.substr(1, close - 1);
			std::string_view name = next_word(inside);
			response_.code.name = to_upper(name);
			response_.code.args = std::string(trim_spaces(inside));
			text.remove_prefix(close + 1);
		}
	}
	response_.text = std::string(trim_spaces(text));
}

void ResponseParser::tokenize(std::string_view text)
{
	size_t i = 0;
	while (i < text.size()) {
		char c = text[i];
		if (c == ' ' || c == '\t') {
			i++;
		} else if (c == '(') {
			// open_lists_ holds the response's args as well.
			if (open_lists_.size() > limits_.max_list_depth) {
				malformed("lists nested deeper than " +
					  std::to_string(limits_.max_list_depth) + " levels");
			}
			std::vector<Value> &list = *open_lists_.back();
			list.push_back(make_value(Value::Kind::list));
			open_lists_.push_back(&list.back().items);
			i++;
		} else if (c == ')') {
			if (open_lists_.size() == 1)
				malformed("unbalanced ')'");
			open_lists_.pop_back();
			i++;
		} else if (c == '"') {
			i = read_quoted(text, i);
		} else if (c == '{') {
			malformed("literal not at the end of a line");
		} else {
			i = read_atom(text, i);
		}
	}
}

// Quoted strings: \" and \\ are the escapes; we accept a backslash before
// any other character too, as lenient servers send it.
size_t ResponseParser::read_quoted(std::string_view text, size_t start)
{
	std::string value;
	for (size_t i = start + 1; i < text.size(); i++) {
		if (text[i] == '\\' && i + 1 < text.size()) {
			value += text[++i];
		} else if (text[i] == '"') {
			Value string = make_value(Value::Kind::string, std::move(value));
			open_lists_.back()->push_back(std::move(string));
			return i + 1;
		} else {
			value += text[i];
		}
	}
	malformed("unterminated quoted string");
}

size_t ResponseParser::read_atom(std::string_view text, size_t start)
{
	size_t i = start;
	while (i < text.size()) {
		char c = text[i];
		if (c == ' ' || c == '(' || c == ')' || c == '"')
			break;
		if (c == '[') {
			size_t close = find_closing_bracket(text, i);
			if (close != std::string_view::npos) {
				i = close + 1;
				continue;
			}
		}
		i++;
	}
	std::string_view atom = text.substr(start, i - start);
	if (equals_ignore_case(atom, "NIL"))
		open_lists_.back()->push_back(make_value(Value::Kind::nil));
	else
		open_lists_.back()->push_back(make_value(Value::Kind::atom, std::string(atom)));
	return i;
}

// True when the literal about to start is the value of a message body
// item in a FETCH response's item list.
bool ResponseParser::at_message_body_item() const
{
	if (!limits_.stream_message_bodies || response_.keyword != "FETCH" ||
	    open_lists_.size() != 2)
		return false;
	const std::vector<Value> &items = *open_lists_.back();
	// Items are name/value pairs, so a name waiting for its value
	// leaves an odd count.
	return items.size() % 2 == 1 && items.back().kind == Value::Kind::atom &&
	       is_message_body_item(items.back().text);
}

void ResponseParser::start_literal(uint64_t size, bool discard)
{
	if (!discard)
		hold(size);
	literal_.clear();
	literal_remaining_ = size;
	literal_discard_ = discard;
	phase_ = Phase::literal;
	if (size == 0)
		finish_literal();
}

size_t ResponseParser::read_literal(std::string_view data)
{
	size_t take = size_t(std::min<uint64_t>(literal_remaining_, data.size()));
	if (!literal_discard_) {
		literal_.append(data.substr(0, take));
		held_bytes_ += take;
	}
	literal_remaining_ -= take;
	if (literal_remaining_ == 0)
		finish_literal();
	return take;
}

void ResponseParser::finish_literal()
{
	if (!literal_discard_)
		open_lists_.back()->push_back(make_value(Value::Kind::string, std::move(literal_)));
	literal_.clear();
	phase_ = Phase::line;
}

void ResponseParser::message_body_done()
{
	if (phase_ != Phase::message_body)
		throw std::logic_error("ResponseParser is not at a message body");
	Value body = make_value(Value::Kind::streamed_literal);
	body.literal_size = message_body_size_;
	open_lists_.back()->push_back(std::move(body));
	message_body_size_ = 0;
	phase_ = Phase::line;
}

Response ResponseParser::take_response()
{
	if (phase_ != Phase::complete)
		throw std::logic_error("ResponseParser has no complete response");
	if (response_.trace.size() >= max_trace_bytes)
		response_.trace += "...";
	Response done = std::move(response_);
	response_ = Response();
	open_lists_.clear();
	shape_ = Shape::unknown;
	phase_ = Phase::line;
	held_bytes_ = 0;
	return done;
}

} // namespace mailmove::imap
