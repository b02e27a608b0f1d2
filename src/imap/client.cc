#include "imap/client.h"

#include <unordered_map>

#include "base/failure.h"
#include "imap/body-fetch.h"
#include "imap/command-quoting.h"
#include "imap/connection.h"
#include "imap/refusal.h"
#include "imap/uid-set.h"

namespace mailmove::imap {

namespace {

// Collects UID FETCH (UID FLAGS INTERNALDATE RFC822.SIZE) answers. A
// server may split one message's items over several FETCH responses, so
// they are merged by UID, in the order the server first named them.
class SummaryCollector final : public ResponseObserver {
public:
	void on_untagged(const Response &response) override
	{
		const std::vector<Value> *items = fetch_items(response);
		// Without a UID it is an unsolicited flag update.
		uint32_t uid = items == nullptr ? 0 : fetch_uid(*items);
		if (uid == 0)
			return;
		auto [position, added] = index_.try_emplace(uid, summaries_.size());
		if (added) {
			summaries_.emplace_back();
			summaries_.back().uid = uid;
		}
		MessageSummary &summary = summaries_[position->second];
		const Value *flags = find_fetch_item(*items, "FLAGS");
		if (flags != nullptr && flags->is_list()) {
			summary.flags.clear();
			for (const Value &flag : flags->items)
				summary.flags.push_back(flag.text);
		}
		const Value *date = find_fetch_item(*items, "INTERNALDATE");
		if (date != nullptr && date->is_string())
			summary.internaldate = date->text;
		const Value *size = find_fetch_item(*items, "RFC822.SIZE");
		if (size != nullptr && size->number())
			summary.size = *size->number();
	}

	void on_message_body(const Response &, LiteralSource &) override {}

	std::vector<MessageSummary> take() { return std::move(summaries_); }

private:
	std::vector<MessageSummary> summaries_;
	std::unordered_map<uint32_t, size_t> index_;
};

} // namespace

struct Client::Impl {
	Impl(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	     CancelCheck cancel)
		: connection(std::move(stream), log, std::move(cancel)), options(options)
	{
	}

	// Runs a command; anything but OK is thrown as a Failure.
	Response run_ok(const CommandText &command, FailureKind kind_for_no, std::string_view name)
	{
		Response tagged = connection.run(command);
		if (!tagged.is_ok())
			throw_refusal(tagged, kind_for_no, connection.peer(), name);
		return tagged;
	}

	void refresh_capabilities()
	{
		CommandText command = CommandBuilder("CAPABILITY", {}).finish();
		run_ok(command, FailureKind::temporary, "CAPABILITY");
		if (!connection.capabilities_known()) {
			throw Failure(FailureKind::permanent,
				      connection.peer() + ": server sent no CAPABILITY response");
		}
	}

	Connection connection;
	ClientOptions options;
	bool preauthenticated = false;
};

Client::Client(std::unique_ptr<net::Stream> stream, Logger &log, ClientOptions options,
	       CancelCheck cancel)
	: impl_(std::make_unique<Impl>(std::move(stream), log, options, std::move(cancel)))
{
}

Client::~Client() = default;

void Client::greeting()
{
	Response greeting = impl_->connection.read_greeting();
	impl_->preauthenticated = greeting.keyword == "PREAUTH";
	if (!impl_->connection.capabilities_known())
		impl_->refresh_capabilities();
}

bool Client::has_capability(std::string_view name) const
{
	return impl_->connection.has_capability(name);
}

const std::set<std::string> &Client::capabilities() const
{
	return impl_->connection.capabilities();
}

bool Client::preauthenticated() const
{
	return impl_->preauthenticated;
}

void Client::id(const std::vector<std::pair<std::string, std::string>> &fields)
{
	Connection &connection = impl_->connection;
	if (!impl_->options.send_id || !connection.has_capability("ID"))
		return;

	CommandBuilder command("ID", connection.literal_support());
	if (fields.empty()) {
		command.raw("NIL");
	} else {
		command.begin_list();
		for (const auto &[name, value] : fields)
			command.string(name).string(value);
		command.end_list();
	}
	// ID is a courtesy (some providers want it before they allow
	// access): a server that rejects it is no reason to stop.
	Response tagged = connection.run(command.finish());
	if (!tagged.is_ok()) {
		connection.log().warning(connection.peer() + ": ID rejected: " +
					 printable_excerpt(tagged.text));
	}
}

void Client::login(const std::string &user, const std::string &password)
{
	Connection &connection = impl_->connection;
	if (impl_->preauthenticated)
		return;
	if (connection.has_capability("LOGINDISABLED")) {
		throw Failure(FailureKind::permanent,
			      connection.peer() + ": server does not allow LOGIN on this connection"
						  " (LOGINDISABLED; TLS may be required)");
	}

	CommandText command = CommandBuilder("LOGIN", connection.literal_support())
				      .secret(user)
				      .secret(password)
				      .finish();
	connection.forget_capabilities();
	impl_->run_ok(command, FailureKind::auth, "LOGIN");
	if (!connection.capabilities_known())
		impl_->refresh_capabilities();
}

MailboxInfo Client::examine(const std::string &mailbox)
{
	Connection &connection = impl_->connection;
	connection.reset_mailbox();
	CommandText command =
		CommandBuilder("EXAMINE", connection.literal_support()).string(mailbox).finish();
	impl_->run_ok(command, FailureKind::permanent, "EXAMINE");
	if (connection.mailbox().uidvalidity == 0) {
		connection.log().warning(connection.peer() + ": EXAMINE " +
					 printable_excerpt(mailbox) + " sent no UIDVALIDITY");
	}
	return connection.mailbox();
}

std::vector<MessageSummary> Client::fetch_summaries()
{
	Connection &connection = impl_->connection;
	if (connection.mailbox().exists == 0)
		return {};

	SummaryCollector collector;
	ObserverScope observing(connection, collector);
	Response tagged = connection.run(CommandBuilder("UID FETCH", {})
						 .raw("1:* (UID FLAGS INTERNALDATE RFC822.SIZE)")
						 .finish());
	if (!tagged.is_ok() && !(tagged.keyword == "NO" && tagged.code.name == "EXPUNGEISSUED"))
		throw_refusal(tagged, FailureKind::temporary, connection.peer(), "UID FETCH");
	return collector.take();
}

void Client::fetch_bodies(const std::vector<BodyRequest> &requests, FetchHandler &handler)
{
	const ClientOptions &options = impl_->options;
	std::vector<UidBatch> batches =
		split_into_batches(requests, options.batch_max_messages, options.batch_max_bytes);
	if (batches.empty())
		return;
	BodyFetch(impl_->connection, handler, options.pipeline_depth).run(std::move(batches));
}

void Client::logout() noexcept
{
	Connection &connection = impl_->connection;
	if (!connection.usable())
		return;
	try {
		connection.expect_bye();
		connection.run(CommandBuilder("LOGOUT", {}).finish());
	} catch (const std::exception &error) {
		connection.log().debug(std::string("LOGOUT: ") + error.what());
	} catch (...) {
	}
}

} // namespace mailmove::imap
