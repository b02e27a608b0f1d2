#include "fake-pop3-server.h"

#include "pop3-wire.h"
#include "base/sasl.h"
#include "pop3/sasl.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace fake {

namespace {

std::string upper(std::string text)
{
	std::transform(text.begin(), text.end(), text.begin(), ::toupper);
	return text;
}

bool has_8bit(const std::string &text)
{
	return std::any_of(text.begin(), text.end(), [](char c) { return (c & 0x80) != 0; });
}

} // namespace

const char FakePop3Server::utf8_notice[] =
	"From: Mail Delivery Subsystem <postmaster>\r\n"
	"Subject: Cannot display Unicode content\r\n\r\n"
	"Please use an E-mail reader that supports POP3 with UTF-8.\r\n";

size_t FakePop3Server::read_some(char *buf, size_t len)
{
	if (options_.read_delay_ms > 0)
		std::this_thread::sleep_for(std::chrono::milliseconds(options_.read_delay_ms));
	return FakeLineServer::read_some(buf, len);
}

std::string FakePop3Server::as_sent(uint32_t number) const
{
	const Pop3Message &m = maildrop_[number - 1];
	std::string text = m.body;
	if (options_.utf8 && !utf8_enabled_ && has_8bit(header_of(m.body)))
		text = utf8_notice;
	auto extra = options_.oversize.find(number);
	if (extra != options_.oversize.end()) {
		for (size_t sent = 0; sent < extra->second; sent += 100)
			text += std::string(98, 'x') + "\r\n";
	}
	return text;
}

std::string FakePop3Server::top_of(const std::string &text, size_t lines) const
{
	std::string header = header_of(text);
	size_t end = header.size();
	for (size_t i = 0; i < lines && end < text.size(); i++) {
		size_t lf = text.find('\n', end);
		end = lf == std::string::npos ? text.size() : lf + 1;
	}
	return text.substr(0, end);
}

FakePop3Server::FakePop3Server(const std::vector<Pop3Message> &maildrop,
			       Pop3ServerOptions options)
	: FakeLineServer(options.max_read_chunk, options.command_log), maildrop_(maildrop),
	  options_(std::move(options))
{
	output_ = "+OK fake POP3 server ready <1896.697170952@fake.example>\r\n";
}

const Pop3Message *FakePop3Server::message(const std::string &number) const
{
	size_t n = std::strtoul(number.c_str(), nullptr, 10);
	return n >= 1 && n <= maildrop_.size() ? &maildrop_[n - 1] : nullptr;
}

std::string FakePop3Server::header_of(const std::string &body) const
{
	size_t end = body.find("\r\n\r\n");
	return end == std::string::npos ? body : body.substr(0, end + 4);
}

void FakePop3Server::send_multiline(const std::string &text, bool may_cut)
{
	std::string wire = pop3_wire(options_.added_header + text);
	if (may_cut && ++bodies_sent_ == options_.cut_in_body) {
		output_ += wire.substr(0, wire.size() / 2);
		closed_ = true;
		return;
	}
	output_ += wire;
}

void FakePop3Server::handle_line(const std::string &line)
{
	if (awaiting_oauth2_abort_) {
		awaiting_oauth2_abort_ = false;
		output_ += "-ERR [AUTH] Authentication failed.\r\n";
		return;
	}
	if (awaiting_oauth2_) {
		awaiting_oauth2_ = false;
		std::optional<std::string> message = mailmove::base64_decode(line);
		authenticated_ = message && !options_.oauth2_token.empty() &&
				 message->find("auth=Bearer " + options_.oauth2_token + "\x01\x01") !=
					 std::string::npos &&
				 message->find(options_.user) != std::string::npos;
		if (authenticated_)
			output_ += "+OK logged in\r\n";
		else {
			/* RFC 7628 3.2.2: an error challenge, which the client
			   must answer before the -ERR. */
			awaiting_oauth2_abort_ = true;
			output_ += "+ " + mailmove::base64_encode("{\"status\":\"401\"}") + "\r\n";
		}
		return;
	}
	if (awaiting_plain_) {
		awaiting_plain_ = false;
		std::string expected = mailmove::sasl_plain_response("", options_.user,
								      options_.password);
		authenticated_ = line == expected;
		output_ += authenticated_ ? "+OK logged in\r\n" : "-ERR [AUTH] bad credentials\r\n";
		return;
	}
	size_t space = line.find(' ');
	std::string command = upper(line.substr(0, space));
	std::string argument = space == std::string::npos ? "" : line.substr(space + 1);

	if (command == "CAPA") {
		output_ += "+OK capabilities\r\nUSER\r\nRESP-CODES\r\n";
		if (options_.uidl)
			output_ += "UIDL\r\n";
		if (options_.top)
			output_ += "TOP\r\n";
		if (options_.pipelining)
			output_ += "PIPELINING\r\n";
		if (!options_.sasl.empty())
			output_ += "SASL " + options_.sasl + "\r\n";
		if (options_.utf8)
			output_ += "UTF8 USER\r\n";
		if (!options_.implementation.empty())
			output_ += "IMPLEMENTATION " + options_.implementation + "\r\n";
		output_ += ".\r\n";
	} else if (command == "QUIT") {
		output_ += "+OK bye\r\n";
		closed_ = true;
	} else if (!authenticated_) {
		if (command == "UTF8" && options_.utf8) {
			utf8_enabled_ = true;
			output_ += "+OK UTF8 enabled\r\n";
		} else if (command == "USER") {
			pending_user_ = argument;
			output_ += "+OK\r\n";
		} else if (command == "PASS") {
			authenticated_ = pending_user_ == options_.user &&
					 argument == options_.password;
			output_ += authenticated_ ? "+OK logged in\r\n"
						  : "-ERR [AUTH] bad credentials\r\n";
		} else if (command == "AUTH" && upper(argument) == "PLAIN") {
			awaiting_plain_ = true;
			output_ += "+ \r\n";
		} else if (command == "AUTH" &&
			   (upper(argument) == "XOAUTH2" || upper(argument) == "OAUTHBEARER")) {
			awaiting_oauth2_ = true;
			output_ += "+ \r\n";
		} else {
			output_ += "-ERR not authenticated\r\n";
		}
	} else {
		handle_transaction(command, argument);
	}
}

void FakePop3Server::handle_transaction(const std::string &command, const std::string &argument)
{
	size_t added = options_.added_header.size();
	if (options_.refuse_commands.count(command) > 0) {
		output_ += "-ERR " + options_.refusal + "\r\n";
	} else if (command == "STAT") {
		uint64_t total = 0;
		for (const Pop3Message &m : maildrop_)
			total += m.body.size() + added;
		output_ += "+OK " + std::to_string(maildrop_.size()) + " " + std::to_string(total) +
			   "\r\n";
	} else if (command == "LIST" && argument.empty()) {
		output_ += "+OK scan listing\r\n";
		for (size_t i = 0; i < maildrop_.size(); i++) {
			output_ += std::to_string(i + 1) + " " +
				   std::to_string(maildrop_[i].body.size() + added) + "\r\n";
		}
		output_ += ".\r\n";
	} else if (command == "UIDL" && argument.empty() && options_.uidl) {
		output_ += "+OK unique-id listing\r\n";
		for (size_t i = 0; i < maildrop_.size() && i < options_.uidl_lists; i++)
			output_ += std::to_string(i + 1) + " " + maildrop_[i].uidl + "\r\n";
		output_ += ".\r\n";
	} else if (command == "TOP" && options_.top) {
		const Pop3Message *m = message(argument);
		size_t space = argument.find(' ');
		if (m == nullptr || space == std::string::npos) {
			output_ += "-ERR no such message\r\n";
			return;
		}
		uint32_t number = uint32_t(std::strtoul(argument.c_str(), nullptr, 10));
		size_t lines = std::strtoul(argument.c_str() + space + 1, nullptr, 10);
		if (lines > 0 && options_.refuse_retr.count(number) > 0) {
			output_ += "-ERR [SYS/PERM] cannot read this message\r\n";
			return;
		}
		output_ += "+OK top of message follows\r\n";
		std::string top = top_of(as_sent(number), lines);
		if (lines > 0 && options_.top_adds_line_end)
			top += "\r\n";
		send_multiline(top, lines > 0);
	} else if (command == "RETR") {
		const Pop3Message *m = message(argument);
		uint32_t number = uint32_t(std::strtoul(argument.c_str(), nullptr, 10));
		if (m == nullptr || options_.refuse_retr.count(number) > 0) {
			output_ += "-ERR [SYS/PERM] cannot read this message\r\n";
			return;
		}
		output_ += "+OK " + std::to_string(m->body.size() + added) + " octets\r\n";
		send_multiline(as_sent(number), true);
		if (options_.marked_read != nullptr)
			options_.marked_read->insert(number);
	} else {
		output_ += "-ERR unknown or unsupported command\r\n";
	}
}

} // namespace fake
