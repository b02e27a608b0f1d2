// imap-probe: drives the engine's IMAP client (src/imap) against a real
// server and prints what it got as JSON lines, for the scenarios in
// test_imap_protocol.py. Not a product tool: it exists so the client's
// STARTTLS, AUTHENTICATE, LIST, NAMESPACE, message identities and
// adaptive batches can be checked against real Dovecot.
//
//   imap-probe --port N [--host H] [--tls | --starttls] [--ca-file PEM]
//              [--auth login|plain|sasl-login --user U [--authzid Z]]
//              [--list] [--namespaces] [--message-ids FOLDER]
//              [--fetch FOLDER [--batch-start N] [--batch-max N] [--depth N]]
//              [--command-timeout-ms N] [--trace]
//
// The password comes from the environment (IMAP_PROBE_PASSWORD), never
// from the command line. --trace writes the protocol trace to stderr.
// Output lines: {"capabilities": [...]}, {"mailbox": {...}},
// {"namespaces": [...] | null}, {"identity": {...}}, {"fetched": {...}},
// {"message": {"uid": N, "sha256": "..."}}; a failure prints
// {"failure": {"kind": ..., "message": ...}} and exits 1.
#include <getopt.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/failure.h"
#include "base/logger.h"
#include "imap/client.h"
#include "imap/message-summaries.h"
#include "batch-ledger.h"
#include "net/stream.h"

using namespace mailmove;

namespace {

struct ProbeOptions {
	net::Endpoint endpoint{"127.0.0.1", 0, false};
	bool starttls = false;
	net::TlsOptions tls;
	std::string auth; // "", "login", "plain", "sasl-login"
	std::string user;
	std::string authzid;
	bool list = false;
	bool namespaces = false;
	std::string message_ids_folder;
	std::string fetch_folder;
	bool trace = false;
	imap::ClientOptions client;
};

std::string json_string(std::string_view text)
{
	static const char hex[] = "0123456789abcdef";
	std::string out = "\"";
	for (unsigned char c : text) {
		if (c == '"' || c == '\\') {
			out += '\\';
			out += char(c);
		} else if (c < 0x20 || c >= 0x7f) {
			out += "\\u00";
			out += hex[c >> 4];
			out += hex[c & 0xf];
		} else {
			out += char(c);
		}
	}
	return out + "\"";
}

std::string json_strings(const std::vector<std::string> &items)
{
	std::string out = "[";
	for (size_t i = 0; i < items.size(); i++)
		out += (i > 0 ? ", " : "") + json_string(items[i]);
	return out + "]";
}

template <typename Number> std::string json_numbers(const std::vector<Number> &items)
{
	std::string out = "[";
	for (size_t i = 0; i < items.size(); i++)
		out += (i > 0 ? ", " : "") + std::to_string(items[i]);
	return out + "]";
}

std::string json_separator(char separator)
{
	return separator == 0 ? "null" : json_string(std::string(1, separator));
}

class TraceLogger final : public Logger {
public:
	explicit TraceLogger(bool enabled) : enabled_(enabled) {}
	void log(LogLevel, std::string_view message) override
	{
		if (enabled_)
			std::cerr << message << '\n';
	}

private:
	bool enabled_;
};

// Reads every body, keeps its SHA-256 and the sizes of the batches.
class DigestingHandler final : public imap::FetchHandler {
public:
	void on_body(uint64_t, uint32_t uid, ByteSource &body) override
	{
		std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
										 EVP_MD_CTX_free);
		EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
		std::vector<char> chunk(64 * 1024);
		size_t n;
		while ((n = body.read(chunk.data(), chunk.size())) > 0) {
			EVP_DigestUpdate(context.get(), chunk.data(), n);
			bytes += n;
		}
		unsigned char digest[EVP_MAX_MD_SIZE];
		unsigned int length = 0;
		EVP_DigestFinal_ex(context.get(), digest, &length);
		std::string hex;
		for (unsigned int i = 0; i < length; i++) {
			static const char digits[] = "0123456789abcdef";
			hex += digits[digest[i] >> 4];
			hex += digits[digest[i] & 0xf];
		}
		std::cout << "{\"message\": {\"uid\": " << uid << ", \"sha256\": \"" << hex
			  << "\"}}\n";
		messages++;
	}
	void on_batch_sent(uint64_t batch, const std::vector<uint32_t> &uids) override
	{
		ledger.sent(batch, uids);
	}
	void on_batch_done(uint64_t batch, const std::vector<uint32_t> &uids,
			   const std::vector<uint32_t> &missing) override
	{
		if (ledger.done_order().empty())
			first_batch_done = std::chrono::steady_clock::now();
		ledger.done(batch, uids);
		missing_count += missing.size();
	}

	uint64_t messages = 0, bytes = 0, missing_count = 0;
	probe::BatchLedger ledger;
	std::chrono::steady_clock::time_point first_batch_done;
};

void authenticate(imap::Client &client, const ProbeOptions &options, const std::string &password)
{
	if (options.auth == "login")
		client.login(options.user, password);
	else if (options.auth == "plain")
		client.authenticate_plain(options.user, password, options.authzid);
	else if (options.auth == "sasl-login")
		client.authenticate_login(options.user, password);
	else if (!options.auth.empty())
		throw Failure(FailureKind::permanent, "unknown --auth " + options.auth);
}

void print_capabilities(const imap::Client &client)
{
	std::vector<std::string> capabilities(client.capabilities().begin(),
					       client.capabilities().end());
	std::cout << "{\"capabilities\": " << json_strings(capabilities) << "}\n";
}

void print_mailboxes(imap::Client &client)
{
	for (const imap::ListedMailbox &mailbox : client.list_mailboxes()) {
		std::cout << "{\"mailbox\": {\"name\": " << json_string(mailbox.name)
			  << ", \"separator\": " << json_separator(mailbox.separator)
			  << ", \"attributes\": " << json_strings(mailbox.attributes)
			  << ", \"subscribed\": " << (mailbox.subscribed ? "true" : "false")
			  << "}}\n";
	}
}

void print_namespaces(imap::Client &client)
{
	std::optional<std::vector<imap::Namespace>> namespaces = client.personal_namespaces();
	std::cout << "{\"namespaces\": ";
	if (!namespaces) {
		std::cout << "null}\n";
		return;
	}
	std::cout << "[";
	for (size_t i = 0; i < namespaces->size(); i++) {
		const imap::Namespace &ns = (*namespaces)[i];
		std::cout << (i > 0 ? ", " : "") << "{\"prefix\": " << json_string(ns.prefix)
			  << ", \"separator\": " << json_separator(ns.separator) << "}";
	}
	std::cout << "]}\n";
}

void print_message_ids(imap::Client &client, const std::string &folder)
{
	client.examine(folder);
	for (const imap::MessageIdentity &id : client.fetch_message_ids()) {
		std::cout << "{\"identity\": {\"uid\": " << id.uid << ", \"size\": " << id.size
			  << ", \"internaldate\": " << json_string(id.internaldate)
			  << ", \"message_id\": " << json_string(id.message_id) << "}}\n";
	}
}

// Newest (highest UID) first, as the mover asks.
void fetch_folder(imap::Client &client, const std::string &folder)
{
	client.examine(folder);
	std::vector<imap::BodyRequest> requests;
	imap::MessageSummaries summaries = client.fetch_summaries();
	for (const imap::MessageSummary &summary : summaries.all())
		requests.push_back({summary.uid, summary.size});
	std::sort(requests.begin(), requests.end(),
		  [](const auto &a, const auto &b) { return a.uid > b.uid; });

	DigestingHandler handler;
	auto started = std::chrono::steady_clock::now();
	client.fetch_bodies(requests, handler);
	auto seconds_since_start = [started](std::chrono::steady_clock::time_point when) {
		return std::chrono::duration<double>(when - started).count();
	};
	double seconds = seconds_since_start(std::chrono::steady_clock::now());
	const probe::BatchLedger &ledger = handler.ledger;
	std::cout << "{\"fetched\": {\"messages\": " << handler.messages
		  << ", \"bytes\": " << handler.bytes << ", \"missing\": " << handler.missing_count
		  << ", \"seconds\": " << seconds << ", \"first_batch_seconds\": "
		  << (ledger.done_order().empty() ? 0.0
						  : seconds_since_start(handler.first_batch_done))
		  << ", \"batches\": " << json_numbers(ledger.done_sizes())
		  << ", \"sent\": " << json_numbers(ledger.sent_sizes())
		  << ", \"done_order\": " << json_numbers(ledger.done_order())
		  << ", \"batch_errors\": " << json_strings(ledger.errors()) << "}}\n";
}

ProbeOptions parse_options(int argc, char **argv)
{
	enum {
		opt_host = 1000, opt_port, opt_tls, opt_starttls, opt_ca_file, opt_auth, opt_user,
		opt_authzid, opt_list, opt_namespaces, opt_message_ids, opt_fetch, opt_batch_start,
		opt_batch_max, opt_depth, opt_command_timeout, opt_trace,
	};
	static const option long_options[] = {
		{"host", required_argument, nullptr, opt_host},
		{"port", required_argument, nullptr, opt_port},
		{"tls", no_argument, nullptr, opt_tls},
		{"starttls", no_argument, nullptr, opt_starttls},
		{"ca-file", required_argument, nullptr, opt_ca_file},
		{"auth", required_argument, nullptr, opt_auth},
		{"user", required_argument, nullptr, opt_user},
		{"authzid", required_argument, nullptr, opt_authzid},
		{"list", no_argument, nullptr, opt_list},
		{"namespaces", no_argument, nullptr, opt_namespaces},
		{"message-ids", required_argument, nullptr, opt_message_ids},
		{"fetch", required_argument, nullptr, opt_fetch},
		{"batch-start", required_argument, nullptr, opt_batch_start},
		{"batch-max", required_argument, nullptr, opt_batch_max},
		{"depth", required_argument, nullptr, opt_depth},
		{"command-timeout-ms", required_argument, nullptr, opt_command_timeout},
		{"trace", no_argument, nullptr, opt_trace},
		{nullptr, 0, nullptr, 0},
	};
	ProbeOptions options;
	int c;
	while ((c = getopt_long(argc, argv, "", long_options, nullptr)) != -1) {
		std::string value = optarg != nullptr ? optarg : "";
		switch (c) {
		case opt_host: options.endpoint.host = value; break;
		case opt_port: options.endpoint.port = uint16_t(std::stoi(value)); break;
		case opt_tls: options.endpoint.implicit_tls = true; break;
		case opt_starttls: options.starttls = true; break;
		case opt_ca_file: options.tls.ca_file = value; break;
		case opt_auth: options.auth = value; break;
		case opt_user: options.user = value; break;
		case opt_authzid: options.authzid = value; break;
		case opt_list: options.list = true; break;
		case opt_namespaces: options.namespaces = true; break;
		case opt_message_ids: options.message_ids_folder = value; break;
		case opt_fetch: options.fetch_folder = value; break;
		case opt_batch_start:
			options.client.batch_start_messages = unsigned(std::stoul(value));
			break;
		case opt_batch_max:
			options.client.batch_max_messages = unsigned(std::stoul(value));
			break;
		case opt_depth: options.client.pipeline_depth = unsigned(std::stoul(value)); break;
		case opt_command_timeout:
			options.client.command_timeout_ms = std::stoi(value);
			break;
		case opt_trace: options.trace = true; break;
		default:
			std::cerr << "usage: see the comment at the top of imap-probe.cc\n";
			std::exit(2);
		}
	}
	if (options.endpoint.port == 0) {
		std::cerr << "imap-probe: --port is required\n";
		std::exit(2);
	}
	return options;
}

} // namespace

int main(int argc, char **argv)
{
	ProbeOptions options = parse_options(argc, argv);
	const char *password = std::getenv("IMAP_PROBE_PASSWORD");
	TraceLogger log(options.trace);
	try {
		imap::Client client(net::connect(options.endpoint, options.tls,
						 options.client.timeouts, nullptr),
				    log, options.client, nullptr);
		client.greeting();
		if (options.starttls)
			client.starttls(options.tls);
		print_capabilities(client);
		client.id({{"name", "imap-probe"}, {"version", "1"}});
		authenticate(client, options, password != nullptr ? password : "");
		if (!options.auth.empty())
			print_capabilities(client);
		if (options.list)
			print_mailboxes(client);
		if (options.namespaces)
			print_namespaces(client);
		if (!options.message_ids_folder.empty())
			print_message_ids(client, options.message_ids_folder);
		if (!options.fetch_folder.empty())
			fetch_folder(client, options.fetch_folder);
		client.logout();
	} catch (const Failure &failure) {
		std::cout << "{\"failure\": {\"kind\": "
			  << json_string(failure_kind_name(failure.kind()))
			  << ", \"message\": " << json_string(failure.what()) << "}}\n";
		return 1;
	}
	return 0;
}
