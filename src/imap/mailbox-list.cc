#include "imap/mailbox-list.h"

#include <algorithm>

namespace mailmove::imap {

namespace {

// Mailbox names and namespace prefixes are astrings: an atom, a quoted
// string or a literal.
const std::string *astring(const Value &value)
{
	if (value.kind == Value::Kind::atom || value.kind == Value::Kind::string)
		return &value.text;
	return nullptr;
}

// A hierarchy delimiter is one quoted character or NIL.
std::optional<char> delimiter(const Value &value)
{
	if (value.kind == Value::Kind::nil)
		return char(0);
	if (value.is_string() && value.text.size() == 1)
		return value.text[0];
	return std::nullopt;
}

// INBOX is case-insensitive (RFC 3501 5.1); other names are not.
std::string canonical_name(const std::string &name)
{
	return equals_ignore_case(name, "INBOX") ? std::string("INBOX") : name;
}

} // namespace

bool ListedMailbox::has_attribute(std::string_view attribute) const
{
	return std::any_of(attributes.begin(), attributes.end(), [attribute](const std::string &a) {
		return equals_ignore_case(a, attribute);
	});
}

std::optional<ListedMailbox> parse_list_response(const Response &response)
{
	const std::vector<Value> &args = response.args;
	if (args.size() < 3 || !args[0].is_list())
		return std::nullopt;
	std::optional<char> separator = delimiter(args[1]);
	const std::string *name = astring(args[2]);
	if (!separator || name == nullptr || name->empty())
		return std::nullopt;

	ListedMailbox mailbox;
	mailbox.name = canonical_name(*name);
	mailbox.separator = *separator;
	for (const Value &attribute : args[0].items) {
		if (attribute.kind != Value::Kind::atom)
			return std::nullopt;
		mailbox.attributes.push_back(attribute.text);
	}
	// Anything after the name is LIST-EXTENDED data (CHILDINFO,
	// OLDNAME): nothing a move needs.
	return mailbox;
}

void translate_xlist_attributes(ListedMailbox &mailbox)
{
	static const std::pair<std::string_view, std::string_view> renames[] = {
		{"\\Spam", "\\Junk"},
		{"\\AllMail", "\\All"},
		{"\\Starred", "\\Flagged"},
	};
	std::vector<std::string> translated;
	for (const std::string &attribute : mailbox.attributes) {
		// Gmail's XLIST spells INBOX in the user's language.
		if (equals_ignore_case(attribute, "\\Inbox")) {
			mailbox.name = "INBOX";
			continue;
		}
		auto rename = std::find_if(std::begin(renames), std::end(renames),
					   [&attribute](const auto &pair) {
						   return equals_ignore_case(attribute, pair.first);
					   });
		translated.emplace_back(rename == std::end(renames) ? std::string_view(attribute)
								    : rename->second);
	}
	mailbox.attributes = std::move(translated);
}

void MailboxListCollector::on_untagged(const Response &response)
{
	bool is_lsub = response.keyword == "LSUB";
	std::string_view listing = command_ == ListCommand::xlist ? "XLIST" : "LIST";
	if (!is_lsub && response.keyword != listing)
		return;
	if (!over_limit_.empty())
		return;
	std::optional<ListedMailbox> mailbox = parse_list_response(response);
	if (!mailbox) {
		if (malformed_count_++ < limits_.max_malformed_kept)
			malformed_.push_back(response.trace);
		return;
	}
	if (!within_limits(*mailbox, is_lsub))
		return;
	if (is_lsub) {
		/* RFC 3501 6.3.9: \Noselect in LSUB marks a name that is not
		   subscribed itself, only listed for its subscribed children
		   (Courier's implicit parents). */
		if (!mailbox->has_attribute("\\Noselect"))
			subscribed_.insert(mailbox->name);
		return;
	}
	if (command_ == ListCommand::xlist)
		translate_xlist_attributes(*mailbox);
	add_listed(std::move(*mailbox));
}

bool MailboxListCollector::within_limits(const ListedMailbox &mailbox, bool is_lsub)
{
	bytes_ += mailbox.name.size();
	for (const std::string &attribute : mailbox.attributes)
		bytes_ += attribute.size();
	bool known = is_lsub ? subscribed_.count(mailbox.name) > 0
			     : index_.count(mailbox.name) > 0;
	if (bytes_ > limits_.max_bytes) {
		over_limit_ = "the folder list is longer than " + std::to_string(limits_.max_bytes) +
			      " bytes";
	} else if (!known && is_lsub && subscribed_.size() >= limits_.max_subscriptions) {
		over_limit_ = "more than " + std::to_string(limits_.max_subscriptions) +
			      " subscriptions";
	} else if (!known && !is_lsub && mailboxes_.size() >= limits_.max_mailboxes) {
		over_limit_ = "more than " + std::to_string(limits_.max_mailboxes) + " folders";
	}
	return over_limit_.empty();
}

void MailboxListCollector::add_listed(ListedMailbox mailbox)
{
	auto [position, added] = index_.try_emplace(mailbox.name, mailboxes_.size());
	if (added) {
		mailboxes_.push_back(std::move(mailbox));
		return;
	}
	ListedMailbox &known = mailboxes_[position->second];
	for (std::string &attribute : mailbox.attributes) {
		if (!known.has_attribute(attribute))
			known.attributes.push_back(std::move(attribute));
	}
}

std::vector<ListedMailbox> MailboxListCollector::take()
{
	for (ListedMailbox &mailbox : mailboxes_) {
		mailbox.subscribed = mailbox.has_attribute("\\Subscribed") ||
				     subscribed_.count(mailbox.name) > 0;
	}
	return std::move(mailboxes_);
}

std::optional<std::vector<Namespace>> parse_personal_namespaces(const Response &response)
{
	if (response.args.empty())
		return std::nullopt;
	const Value &personal = response.args[0];
	std::vector<Namespace> namespaces;
	if (personal.kind == Value::Kind::nil)
		return namespaces;
	if (!personal.is_list())
		return std::nullopt;
	for (const Value &entry : personal.items) {
		// ("prefix" "delimiter" [extensions...])
		if (!entry.is_list() || entry.items.size() < 2)
			return std::nullopt;
		const std::string *prefix = astring(entry.items[0]);
		std::optional<char> separator = delimiter(entry.items[1]);
		if (prefix == nullptr || !separator)
			return std::nullopt;
		namespaces.push_back(Namespace{*prefix, *separator});
	}
	return namespaces;
}

} // namespace mailmove::imap
