// The session basics and the messages of the examined mailbox; logging
// in is in client-login.cc, folders in client-folders.cc.
#include "imap/client.h"

#include <algorithm>
#include <cstdint>

#include "imap/batching.h"
#include "imap/body-fetch.h"
#include "imap/client-impl.h"
#include "imap/fetch-collector.h"
#include "imap/message-items.h"
#include "imap/message-summaries.h"

namespace mailmove::imap {

namespace {

// Runs UID FETCH 1:* items on the examined mailbox, collector seeing
// every untagged response. False when the mailbox is empty (nothing is
// sent).
bool run_fetch_all(Connection &connection, const char *items, ResponseObserver &collector)
{
	if (connection.mailbox().exists == 0)
		return false;

	ObserverScope observing(connection, collector);
	Response tagged =
		connection.run(CommandBuilder("UID FETCH", {}).raw("1:*").raw(items).finish());
	// Messages expunged meanwhile are simply not listed.
	if (!tagged.is_ok() && !is_partly_expunged(tagged))
		throw_refusal(tagged, FailureKind::temporary, connection.peer(), "UID FETCH");
	return true;
}

// Adds each FETCH response to the summaries as it arrives. FETCH
// responses without a UID are unsolicited flag updates: ignored.
class SummaryCollector final : public ResponseObserver {
public:
	explicit SummaryCollector(MessageSummaries &summaries) : summaries_(summaries) {}

	void on_untagged(const Response &response) override
	{
		const std::vector<Value> *items = fetch_items(response);
		uint32_t uid = items == nullptr ? 0 : fetch_uid(*items);
		if (uid != 0)
			summaries_.add(uid, *items);
	}

private:
	MessageSummaries &summaries_;
};

} // namespace

uint64_t max_body_size(uint64_t announced, uint64_t max_message_size)
{
	constexpr uint64_t slack = 64 * 1024;
	uint64_t by_announced = UINT64_MAX;
	if (announced > 0 && announced < (UINT64_MAX - slack) / 2)
		by_announced = 2 * announced + slack;
	return max_message_size == 0 ? by_announced : std::min(by_announced, max_message_size);
}

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
	if ((!impl_->options.send_id && !impl_->options.send_id_after_login) ||
	    !connection.has_capability("ID"))
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

MailboxInfo Client::examine(const std::string &mailbox)
{
	Connection &connection = impl_->connection;
	connection.reset_mailbox();
	impl_->examined.clear();
	CommandText command =
		CommandBuilder("EXAMINE", connection.literal_support()).string(mailbox).finish();
	impl_->run_ok(command, FailureKind::permanent, "EXAMINE");
	impl_->examined = mailbox;
	if (connection.mailbox().uidvalidity == 0) {
		connection.log().warning(connection.peer() + ": EXAMINE " +
					 printable_excerpt(mailbox) + " sent no UIDVALIDITY");
	}
	return connection.mailbox();
}

bool Client::is_examined(const std::string &mailbox) const
{
	return !impl_->examined.empty() && impl_->examined == mailbox && impl_->connection.usable();
}

MessageSummaries Client::fetch_summaries()
{
	MessageSummaries summaries;
	/* EXISTS is the server's word: capped, a hostile one reserves at
	   most 32 MiB of address space, and only what is filled is used. */
	summaries.reserve(std::min<size_t>(impl_->connection.mailbox().exists, 1u << 20));
	SummaryCollector collector(summaries);
	if (run_fetch_all(impl_->connection, summary_items, collector))
		summaries.finish();
	return summaries;
}

std::vector<MessageIdentity> Client::fetch_message_ids()
{
	FetchCollector<MessageIdentity> collector(fill_identity);
	run_fetch_all(impl_->connection, identity_items, collector);
	return collector.take();
}

void Client::fetch_bodies(const std::vector<BodyRequest> &requests, FetchHandler &handler)
{
	const ClientOptions &options = impl_->options;
	BatchPlan plan(requests, {options.batch_start_messages, options.batch_start_bytes},
		       {options.batch_max_messages, options.batch_max_bytes});
	if (plan.done())
		return;
	BodyFetch fetch(impl_->connection, handler, options.pipeline_depth, std::move(plan));
	for (const BodyRequest &request : requests)
		fetch.limit_body(request.uid, max_body_size(request.size, options.max_message_size));
	fetch.run();
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
