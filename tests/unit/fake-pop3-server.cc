#include "fake-pop3-server.h"

#include "pop3-wire.h"
#include "base/sasl.h"
#include "pop3/sasl.h"

#include <algorithm>
#include <cstdlib>

namespace fake {

namespace {

std::string upper(std::string text)
{
	std::transform(text.begin(), text.end(), text.begin(), ::toupper);
	return text;
}

} // namespace

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
		output_ += ".\r\n";
	} else if (command == "QUIT") {
		output_ += "+OK bye\r\n";
		closed_ = true;
	} else if (!authenticated_) {
		if (command == "USER") {
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
		if (m == nullptr || argument.find(" 0") == std::string::npos) {
			output_ += "-ERR no such message\r\n";
			return;
		}
		output_ += "+OK top of message follows\r\n";
		send_multiline(header_of(m->body), false);
	} else if (command == "RETR") {
		const Pop3Message *m = message(argument);
		uint32_t number = uint32_t(std::strtoul(argument.c_str(), nullptr, 10));
		if (m == nullptr || options_.refuse_retr.count(number) > 0) {
			output_ += "-ERR [SYS/PERM] cannot read this message\r\n";
			return;
		}
		output_ += "+OK " + std::to_string(m->body.size() + added) + " octets\r\n";
		send_multiline(m->body, true);
	} else {
		output_ += "-ERR unknown or unsupported command\r\n";
	}
}

} // namespace fake
