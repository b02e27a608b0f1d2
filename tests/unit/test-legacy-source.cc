// The legacy source's precedence (providers/legacy-source.h), one case
// per rule, and the service's value on the wire (source/service-source.h):
// what the service sends is what the worker and doveadm read back, and a
// malformed value is refused with the field it is about.
#include "base/failure.h"
#include "base/line-codec.h"
#include "providers/legacy-source.h"
#include "source/service-source.h"
#include "canned-resolver.h"
#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using providers::LegacySource;
using providers::PresetChoice;
using source::UserSourceSettings;
using source::ServiceSource;
using source::SourceFrom;

namespace {

providers::PresetTable presets()
{
	providers::PresetTable table;
	table.load_text("[exmail]\ntitle = Tencent Exmail\nimap = imaps://imap.exmail.qq.com\n"
			"pop3 = pop3s://pop.exmail.qq.com\nmx = mxbiz1.qq.com\n\n"
			"[pop-only]\npop3 = pop3s://pop.example.net\n\n"
			"[gmail]\nimap = imaps://imap.gmail.com\nmx = *.google.com\n",
			"test");
	return table;
}

ServiceSource vault(const std::string &source)
{
	ServiceSource value = source::choose_service_source(source, "", "");
	value.login = "vault-login";
	value.password = "vault-pw";
	return value;
}

ServiceSource domain(const std::string &source, const std::string &provider = "")
{
	return source::choose_service_source("", source, provider);
}

UserSourceSettings settings(const std::string &source = "", const std::string &provider = "")
{
	UserSourceSettings s;
	s.source = source;
	s.provider = provider;
	s.login = "alice@a.test";
	s.password = "settings-pw";
	return s;
}

LegacySource resolve(const ServiceSource &service, const UserSourceSettings &user,
		     CannedResolver *dns = nullptr)
{
	CannedResolver none;
	return providers::resolve_legacy_source(service, user, presets(),
						dns != nullptr ? *dns : none);
}

std::string url_of(const LegacySource &source)
{
	return source.url.to_string();
}

std::string preset_of(const LegacySource &source)
{
	return source.preset ? source.preset->name : "";
}

} // namespace

// Server URL rule 1: the vault's source beats the domain's (the service
// chose it) and every setting, a userdb one too.
START_TEST(vault_source_wins)
{
	ServiceSource chosen = source::choose_service_source("imaps://vault.example", "imaps://domain.example", "exmail");
	ck_assert(chosen.from == SourceFrom::vault);
	ck_assert_string_eq(chosen.source, "imaps://vault.example");
	ck_assert(chosen.provider.empty()); // the domain's provider goes with its source

	UserSourceSettings user = settings("imaps://own.example", "gmail");
	user.userdb_names_source = true;
	LegacySource got = resolve(vault("imaps://vault.example"), user);
	ck_assert_string_eq(url_of(got), "imaps://vault.example:993");
	// The provider is mailmove_provider's: the vault names none.
	ck_assert_string_eq(preset_of(got), "gmail");
	ck_assert(got.preset_choice == PresetChoice::setting);
	ck_assert_string_eq(got.login, "vault-login");
	ck_assert_string_eq(got.password, "vault-pw");
}
END_TEST

// Rule 2: an enabled domain's source and provider, over plugin {}'s
// mailmove_source and mailmove_provider; a domain without a provider
// leaves mailmove_provider in force.
START_TEST(domain_source_over_plugin_settings)
{
	LegacySource got = resolve(domain("imap://127.0.0.1:10143", "exmail"),
				   settings("imaps://global.example", "gmail"));
	ck_assert_string_eq(url_of(got), "imap://127.0.0.1:10143");
	ck_assert_string_eq(preset_of(got), "exmail");
	ck_assert(got.preset_choice == PresetChoice::domain);
	// No vault: the login is the settings'.
	ck_assert_string_eq(got.login, "alice@a.test");
	ck_assert_string_eq(got.password, "settings-pw");

	got = resolve(domain("imap://127.0.0.1:10143"), settings("", "gmail"));
	ck_assert_string_eq(url_of(got), "imap://127.0.0.1:10143");
	ck_assert_string_eq(preset_of(got), "gmail");
	ck_assert(got.preset_choice == PresetChoice::setting);
}
END_TEST

// A userdb mailmove_source or mailmove_provider beats the domain: its
// source and its provider both give way.
START_TEST(userdb_source_beats_domain)
{
	UserSourceSettings user = settings("imaps://own.example");
	user.userdb_names_source = true;
	LegacySource got = resolve(domain("imap://127.0.0.1:10143", "exmail"), user);
	ck_assert_string_eq(url_of(got), "imaps://own.example:993");
	ck_assert_string_eq(preset_of(got), "");
	ck_assert(got.preset_choice == PresetChoice::none);

	// A userdb provider alone: its preset's server, not the domain's.
	user = settings("", "pop-only");
	user.userdb_names_source = true;
	got = resolve(domain("imap://127.0.0.1:10143", "exmail"), user);
	ck_assert_string_eq(url_of(got), "pop3s://pop.example.net:995");
	ck_assert_string_eq(preset_of(got), "pop-only");
}
END_TEST

// Rule 3 and the provider rules: mailmove_source alone; the preset whose
// server it names; mailmove_provider's server when no source is set
// (IMAP, else POP3).
START_TEST(settings_and_presets)
{
	LegacySource got = resolve({}, settings("imaps://plain.example"));
	ck_assert_string_eq(url_of(got), "imaps://plain.example:993");
	ck_assert(!got.preset);

	got = resolve({}, settings("imaps://imap.exmail.qq.com"));
	ck_assert_string_eq(preset_of(got), "exmail");
	ck_assert(got.preset_choice == PresetChoice::server);

	got = resolve({}, settings("", "exmail"));
	ck_assert_string_eq(url_of(got), "imaps://imap.exmail.qq.com:993");
	ck_assert(got.preset_choice == PresetChoice::setting);
	got = resolve({}, settings("auto", "pop-only"));
	ck_assert_string_eq(url_of(got), "pop3s://pop.example.net:995");
}
END_TEST

// Rule 4: "auto" without a preset detects from the login's domain (MX);
// what detection cannot answer, and nothing set at all, are permanent
// failures that say what to set.
START_TEST(auto_detects_or_fails_clearly)
{
	CannedResolver dns;
	dns.mx_answers["a.test"] = {providers::DnsStatus::ok, {{10, "alt1.aspmx.l.google.com"}}, ""};
	LegacySource got = resolve({}, settings("auto"), &dns);
	ck_assert_string_eq(url_of(got), "imaps://imap.gmail.com:993");
	ck_assert_string_eq(preset_of(got), "gmail");
	ck_assert(got.preset_choice == PresetChoice::server);
	ck_assert(dns.asked.size() >= 1 && dns.asked[0] == "MX a.test");

	// A domain's "auto" (a domain enabled without detection) the same way.
	got = resolve(domain("auto"), settings(), &dns);
	ck_assert_string_eq(url_of(got), "imaps://imap.gmail.com:993");

	Failure undetected = expect_failure([] { resolve({}, settings("auto")); });
	ck_assert(undetected.kind() == FailureKind::permanent);
	ck_assert_msg(contains(undetected.what(), "no provider detected for a.test"), "%s",
		      undetected.what());

	UserSourceSettings no_domain = settings("auto");
	no_domain.login = "alice";
	Failure bare = expect_failure([&] { resolve({}, no_domain); });
	ck_assert(contains(bare.what(), "needs a domain in the legacy login"));

	Failure unset = expect_failure([] { resolve({}, settings()); });
	ck_assert(unset.kind() == FailureKind::permanent);
	ck_assert_string_eq(unset.what(), "mailmove_source is not set");

	Failure invalid = expect_failure([] { resolve({}, settings("gopher://x")); });
	ck_assert(contains(invalid.what(), "invalid mailmove_source"));
}
END_TEST

START_TEST(unknown_provider_names_its_origin)
{
	Failure of_setting = expect_failure([] { resolve({}, settings("", "nosuch")); });
	ck_assert_msg(contains(of_setting.what(), "mailmove_provider = nosuch is no known provider"),
		      "%s", of_setting.what());
	Failure of_domain =
		expect_failure([] { resolve(domain("imaps://x.example", "gone"), settings()); });
	ck_assert_msg(contains(of_domain.what(), "the domain's provider gone"), "%s",
		      of_domain.what());
}
END_TEST

// The login: the vault's fields where set, each on its own.
START_TEST(login_fields_one_by_one)
{
	ServiceSource service; // a vault record without a source
	service.master_user = "migrator";
	UserSourceSettings user = settings("imaps://x.example");
	user.master_user = "other";
	LegacySource got = resolve(service, user);
	ck_assert_string_eq(got.login, "alice@a.test");
	ck_assert_string_eq(got.password, "settings-pw");
	ck_assert_string_eq(got.master_user, "migrator");
}
END_TEST

// What a run reports as its source before presets and detection.
START_TEST(chosen_source_text_follows_the_rules)
{
	UserSourceSettings user = settings("imaps://own.example");
	ck_assert_string_eq(source::chosen_source_text(vault("imaps://v.example"), user),
			    "imaps://v.example");
	ck_assert_string_eq(source::chosen_source_text(domain("imaps://d.example"), user),
			    "imaps://d.example");
	user.userdb_names_source = true;
	ck_assert_string_eq(source::chosen_source_text(domain("imaps://d.example"), user),
			    "imaps://own.example");
	ck_assert_string_eq(source::chosen_source_text({}, settings("", "exmail")), "auto");
	ck_assert_string_eq(source::chosen_source_text({}, settings()), "");
}
END_TEST

// ---- the value on the wire ----

namespace {

// The fields as the receiving side sees them: joined into a line and
// split again (tab escaping included).
KeyValues over_the_wire(const ServiceSource &value)
{
	std::string line = join_fields(source::service_source_fields(value));
	return from_key_value_fields(split_fields(line));
}

std::string refusal(const KeyValues &fields)
{
	std::string error;
	std::optional<ServiceSource> parsed = source::parse_service_source(fields, error);
	ck_assert_msg(!parsed, "accepted a malformed value");
	return error;
}

} // namespace

START_TEST(wire_round_trip)
{
	ServiceSource sent = domain("imaps://imap.exmail.qq.com:993", "exmail");
	sent.login = "ann@a.test";
	sent.password = "p\tw=1\\x"; // escaped on the wire
	sent.master_user = "migrator";
	std::vector<std::string> fields = source::service_source_fields(sent);
	ck_assert(fields == (std::vector<std::string>{
				    "source=imaps://imap.exmail.qq.com:993", "source_from=domain",
				    "provider=exmail", "login=ann@a.test", "password=p\tw=1\\x",
				    "master_user=migrator"}));
	std::string error;
	KeyValues received = over_the_wire(sent);
	received["future_key"] = "ignored";
	std::optional<ServiceSource> got = source::parse_service_source(received, error);
	ck_assert_msg(got.has_value(), "%s", error.c_str());
	ck_assert_string_eq(got->source, sent.source);
	ck_assert(got->from == SourceFrom::domain);
	ck_assert_string_eq(got->provider, "exmail");
	ck_assert_string_eq(got->login, "ann@a.test");
	ck_assert_string_eq(got->password, "p\tw=1\\x");
	ck_assert_string_eq(got->master_user, "migrator");

	got = source::parse_service_source(over_the_wire(vault("auto")), error);
	ck_assert(got && got->from == SourceFrom::vault && got->source == "auto");
	// Nothing set: no fields, an empty value.
	ck_assert(source::service_source_fields({}).empty());
	got = source::parse_service_source({}, error);
	ck_assert(got && got->empty() && got->from == SourceFrom::none);
}
END_TEST

START_TEST(malformed_values_are_refused)
{
	ck_assert_string_eq(refusal({{"source", "imaps://x"}}), "source= without source_from=");
	ck_assert_string_eq(refusal({{"source_from", "vault"}}), "source_from= without source=");
	ck_assert_string_eq(refusal({{"source", "imaps://x"}, {"source_from", "userdb"}}),
			    "unknown source_from=userdb");
	ck_assert(refusal({{"source", "gopher://x"}, {"source_from", "vault"}})
			  .rfind("invalid source= (", 0) == 0);
	ck_assert_string_eq(
		refusal({{"source", "imaps://x"}, {"source_from", "vault"}, {"provider", "exmail"}}),
		"provider= without a domain's source");
	ck_assert_string_eq(refusal({{"source", "imaps://x"},
				     {"source_from", "domain"},
				     {"provider", "ex mail\n"}}),
			    "provider= is not a preset name");
	ck_assert_string_eq(refusal({{"login", "a\r\nb"}}),
			    "a control character in login= or master_user=");
	// The older service's fields are not this value: its domain_source
	// alone is ignored, not taken for a source.
	std::string error;
	std::optional<ServiceSource> old =
		source::parse_service_source({{"domain_source", "imaps://x"}}, error);
	ck_assert(old && old->source.empty());
}
END_TEST

static Suite *legacy_source_suite()
{
	Suite *s = suite_create("legacy-source");
	TCase *precedence = tcase_create("precedence");
	tcase_add_test(precedence, vault_source_wins);
	tcase_add_test(precedence, domain_source_over_plugin_settings);
	tcase_add_test(precedence, userdb_source_beats_domain);
	tcase_add_test(precedence, settings_and_presets);
	tcase_add_test(precedence, auto_detects_or_fails_clearly);
	tcase_add_test(precedence, unknown_provider_names_its_origin);
	tcase_add_test(precedence, login_fields_one_by_one);
	tcase_add_test(precedence, chosen_source_text_follows_the_rules);
	suite_add_tcase(s, precedence);
	TCase *wire = tcase_create("wire");
	tcase_add_test(wire, wire_round_trip);
	tcase_add_test(wire, malformed_values_are_refused);
	suite_add_tcase(s, wire);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({legacy_source_suite()});
}
