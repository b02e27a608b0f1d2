#include "fake-imap-server.h"

#include "base/failure.h"

#include <algorithm>
#include <cstring>
#include <sstream>

namespace fake {

namespace {

constexpr const char *capabilities = "IMAP4rev1 ID LITERAL+";

std::vector<std::string> tokens(const std::string &line)
{
	std::vector<std::string> out;
	size_t i = 0;
	while (i < line.size()) {
		if (line[i] == ' ') {
			i++;
			continue;
		}
		std::string token;
		if (line[i] == '"') {
			for (i++; i < line.size() && line[i] != '"'; i++) {
				if (line[i] == '\\' && i + 1 < line.size())
					i++;
				token += line[i];
			}
			i++;
		} else if (line[i] == '(') {
			size_t close = line.find(')', i);
			token = line.substr(i, close - i + 1);
			i = close + 1;
		} else {
			while (i < line.size() && line[i] != ' ')
				token += line[i++];
		}
		out.push_back(token);
	}
	return out;
}

bool uid_in_set(uint32_t uid, uint32_t max_uid, const std::string &set)
{
	std::stringstream parts(set);
	std::string part;
	while (std::getline(parts, part, ',')) {
		size_t colon = part.find(':');
		auto bound = [&](const std::string &s) -> uint32_t {
			return s == "*" ? max_uid : uint32_t(std::stoul(s));
		};
		uint32_t lo = bound(part.substr(0, colon));
		uint32_t hi = colon == std::string::npos ? lo : bound(part.substr(colon + 1));
		if (lo > hi)
			std::swap(lo, hi);
		if (uid >= lo && uid <= hi)
			return true;
	}
	return false;
}

std::string join(const std::vector<std::string> &items)
{
	std::string out;
	for (const std::string &item : items)
		out += (out.empty() ? "" : " ") + item;
	return out;
}

} // namespace

FakeImapServer::FakeImapServer(const LegacyServer &server, ImapServerOptions options)
	: server_(server), options_(std::move(options))
{
	output_ = std::string("* OK [CAPABILITY ") + capabilities + "] fake server ready\r\n";
}

size_t FakeImapServer::read_some(char *buf, size_t len)
{
	if (output_sent_ == output_.size()) {
		output_.clear();
		output_sent_ = 0;
		if (!closed_) {
			output_ = deferred_;
			deferred_.clear();
		}
	}
	if (output_.empty()) {
		if (closed_)
			return 0;
		throw mailmove::Failure(mailmove::FailureKind::temporary,
					"fake server: client waits but nothing was asked");
	}
	// An offset, not an erase from the front: a 20 MB literal read in
	// 4 KiB pieces would otherwise be copied 5,000 times over.
	size_t n = std::min({len, output_.size() - output_sent_, options_.max_read_chunk});
	std::memcpy(buf, output_.data() + output_sent_, n);
	output_sent_ += n;
	return n;
}

void FakeImapServer::write_all(std::string_view data)
{
	if (closed_)
		throw mailmove::Failure(mailmove::FailureKind::temporary, "fake server: closed");
	input_.append(data);
	size_t eol;
	while ((eol = input_.find("\r\n")) != std::string::npos) {
		std::string line = input_.substr(0, eol);
		input_.erase(0, eol + 2);
		if (options_.command_log != nullptr)
			options_.command_log->push_back(line);
		handle_line(line);
	}
}

void FakeImapServer::start_tls(const mailmove::net::TlsOptions &)
{
	throw mailmove::Failure(mailmove::FailureKind::permanent, "fake server: no TLS");
}

void FakeImapServer::handle_line(const std::string &line)
{
	if (closed_)
		return;
	std::vector<std::string> t = tokens(line);
	if (t.size() < 2) {
		output_ += "* BAD empty command\r\n";
		return;
	}
	const std::string &tag = t[0];
	std::string command = t[1];
	std::transform(command.begin(), command.end(), command.begin(), ::toupper);

	if (command != "UID") {
		output_ += deferred_;
		deferred_.clear();
	}
	if (command == "CAPABILITY") {
		output_ += std::string("* CAPABILITY ") + capabilities + "\r\n" + tag + " OK done\r\n";
	} else if (command == "ID") {
		id_after_login_ |= logged_in_;
		output_ += "* ID NIL\r\n" + tag + " OK ID done\r\n";
	} else if (command == "LOGIN" && !options_.login_refusal.empty()) {
		output_ += tag + " " + options_.login_refusal + "\r\n";
	} else if (command == "LOGIN" && t.size() == 4) {
		if (t[2] == options_.user && t[3] == options_.password) {
			logged_in_ = true;
			output_ += tag + " OK [CAPABILITY " + capabilities + "] Logged in\r\n";
		} else
			output_ += tag + " NO [AUTHENTICATIONFAILED] Authentication failed.\r\n";
	} else if (command == "LIST" || command == "LSUB") {
		list(tag, command == "LSUB");
	} else if (command == "EXAMINE" && options_.require_id_after_login &&
		   !id_after_login_) {
		output_ += tag + " NO SELECT Unsafe Login. Please contact kefu@188.com for help\r\n";
	} else if (command == "EXAMINE" && t.size() == 3) {
		if (auto refusal = options_.refuse_examine.find(t[2]);
		    refusal != options_.refuse_examine.end()) {
			selected_ = nullptr;
			output_ += tag + " " + refusal->second + "\r\n";
			return;
		}
		auto it = server_.mailboxes.find(t[2]);
		if (it == server_.mailboxes.end()) {
			output_ += tag + " NO [NONEXISTENT] Mailbox doesn't exist\r\n";
			return;
		}
		selected_ = &it->second;
		output_ += "* " + std::to_string(selected_->messages.size()) + " EXISTS\r\n";
		output_ += "* OK [UIDVALIDITY " + std::to_string(selected_->uidvalidity) + "] ok\r\n";
		output_ += "* OK [UIDNEXT " + std::to_string(selected_->uidnext()) + "] ok\r\n";
		output_ += tag + " OK [READ-ONLY] Examine completed\r\n";
	} else if (command == "UID" && t.size() >= 5) {
		fetch(tag, t[3], t[4]);
	} else if (command == "LOGOUT") {
		output_ += "* BYE Logging out\r\n" + tag + " OK Logout completed\r\n";
		closed_ = true;
	} else {
		output_ += tag + " BAD unknown command\r\n";
	}
}

void FakeImapServer::list(const std::string &tag, bool lsub)
{
	std::string separator = std::string("\"") + server_.separator + "\"";
	for (const auto &[name, box] : server_.mailboxes) {
		if (lsub && !box.subscribed)
			continue;
		output_ += std::string(lsub ? "* LSUB (" : "* LIST (") + join(box.attributes) +
			   ") " + separator + " \"" + name + "\"\r\n";
	}
	if (!lsub) {
		for (const std::string &line : options_.extra_list_lines)
			output_ += line + "\r\n";
	}
	output_ += tag + " OK done\r\n";
}

void FakeImapServer::fetch(const std::string &tag, const std::string &set, const std::string &items)
{
	if (selected_ == nullptr) {
		output_ += tag + " BAD no mailbox selected\r\n";
		return;
	}
	const LegacyMailbox &mailbox = *selected_;
	bool want_body = items.find("BODY.PEEK[]") != std::string::npos;
	if (want_body && !options_.body_fetch_refusal.empty() &&
	    bodies_sent_ >= options_.refuse_bodies_after) {
		output_ += tag + " " + options_.body_fetch_refusal + "\r\n";
		return;
	}
	bool want_message_id = items.find("MESSAGE-ID") != std::string::npos;
	uint32_t max_uid = mailbox.messages.empty() ? 0 : mailbox.messages.back().uid;
	size_t bodies_this_fetch = 0;
	for (size_t i = 0; i < mailbox.messages.size(); i++) {
		const LegacyMessage &m = mailbox.messages[i];
		if (!uid_in_set(m.uid, max_uid, set))
			continue;
		std::string prefix = "* " + std::to_string(i + 1) + " FETCH (UID " +
				     std::to_string(m.uid);
		if (want_message_id) {
			size_t at = m.body.find("Message-ID: ");
			std::string header = at == std::string::npos ? "\r\n" :
				m.body.substr(at, m.body.find("\r\n", at) + 2 - at) + "\r\n";
			output_ += prefix + " RFC822.SIZE " + std::to_string(m.size_to_announce()) +
				   " INTERNALDATE \"" + m.internaldate +
				   "\" BODY[HEADER.FIELDS (MESSAGE-ID)] {" +
				   std::to_string(header.size()) + "}\r\n" + header + ")\r\n";
			continue;
		}
		if (!want_body) {
			output_ += prefix + " FLAGS (" + join(m.flags) + ") INTERNALDATE \"" +
				   m.internaldate + "\" RFC822.SIZE " +
				   std::to_string(m.size_to_announce()) + ")\r\n";
			continue;
		}
		output_ += prefix + " BODY[] {" + std::to_string(m.body.size()) + "}\r\n";
		if (++bodies_sent_ == options_.cut_in_body) {
			output_ += m.body.substr(0, m.body.size() / 2);
			closed_ = true;
			return;
		}
		output_ += m.body + ")\r\n";
		if (options_.interleave_fetch_ok && ++bodies_this_fetch == 2) {
			output_ += deferred_;
			deferred_.clear();
		}
	}
	if (options_.defer_fetch_ok || options_.interleave_fetch_ok)
		deferred_ += tag + " OK Fetch completed\r\n";
	else
		output_ += tag + " OK Fetch completed\r\n";
}

} // namespace fake
