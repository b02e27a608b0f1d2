// The domain table (jobs/domain-table.h) and what the service does with
// it: DOMAIN-ENABLE input is validated and normalized; records survive a
// restart (and a compaction) of the job journal; with no source of its
// own, only a login of a user of an enabled domain queues a move, with the
// domain's source, and the worker is told the domain's source and
// provider; a userdb source wins; disabling stops new queuing; DOMAIN-LIST
// counts the domain's users per state. And doveadm's choice of a domain's
// source (providers/domain-choice.h) from --source, --provider or DNS.
#include <map>

#include "base/failure.h"
#include "providers/domain-choice.h"
#include "canned-resolver.h"
#include "service-fixture.h"

#include "check-main.h"

using namespace mailmove;
using namespace mailmove::jobs;

namespace {

const KeyValues exmail_request = {{"source", "imaps://imap.exmail.qq.com"},
				  {"provider", "exmail"},
				  {"via", "MX mxbiz1.qq.com"},
				  {"requested", "auto"}};

std::string permanent_error_of(const std::string &domain, const KeyValues &values)
{
	try {
		domain_from_request(domain, values, fixture_start_time);
	} catch (const Failure &failure) {
		ck_assert(failure.kind() == FailureKind::permanent);
		return failure.what();
	}
	ck_abort_msg("domain_from_request(%s) accepted it", domain.c_str());
	return "";
}

std::vector<std::string> enable(Service &service, const std::string &domain,
				const std::string &source, const std::string &provider = "")
{
	return service.admin({"DOMAIN-ENABLE", domain, "source=" + source,
			      "provider=" + provider, "via=--source", "requested=" + source});
}

// The DOMAIN-LIST line of domain.
std::string listed(Service &service, const std::string &domain)
{
	for (const std::string &line : service.admin({"DOMAIN-LIST"})) {
		if (!line.empty() && reply_field(line, "domain") == domain)
			return line;
	}
	ck_abort_msg("%s not in DOMAIN-LIST", domain.c_str());
	return "";
}

} // namespace

START_TEST(request_is_validated_and_normalized)
{
	EnabledDomain domain = domain_from_request("Example.COM.", exmail_request, 100);
	ck_assert_string_eq(domain.domain, "example.com");
	ck_assert_string_eq(domain.source, "imaps://imap.exmail.qq.com:993");
	ck_assert_string_eq(domain.provider, "exmail");
	ck_assert_string_eq(domain.via, "MX mxbiz1.qq.com");
	ck_assert_string_eq(domain.requested, "auto");
	ck_assert(domain.enabled);
	ck_assert_int_eq(domain.updated, 100);

	const KeyValues good = {{"source", "imap://127.0.0.1:143"}};
	ck_assert(contains(permanent_error_of("exa mple.com", good), "invalid domain name"));
	ck_assert(contains(permanent_error_of("a..b", good), "empty label"));
	ck_assert(contains(permanent_error_of("", good), "invalid domain name"));
	ck_assert(contains(permanent_error_of("ex.com", {{"source", "ftp://x"}}),
			   "invalid source 'ftp://x'"));
	ck_assert(contains(permanent_error_of("ex.com", {}), "no source for ex.com"));
	ck_assert(contains(permanent_error_of("ex.com", {{"source", "auto"}}),
			   "no source for ex.com"));
	ck_assert(contains(permanent_error_of("ex.com", {{"source", "imap://h"},
							 {"provider", "Ex Mail"}}),
			   "invalid provider name 'Ex Mail'"));
	// The URL the admin gave is kept in canonical form.
	domain = domain_from_request("ex.com", {{"source", "imaps://imap.ex.com"}}, 1);
	ck_assert_string_eq(domain.requested, domain.source.c_str());
	ck_assert(valid_provider_name("netease-163") && valid_provider_name("35cn"));
	ck_assert(!valid_provider_name("") && !valid_provider_name("a/b"));
}
END_TEST

START_TEST(records_round_trip_and_bad_ones_are_refused)
{
	EnabledDomain domain = domain_from_request("ex.com", exmail_request, fixture_start_time);
	std::optional<EnabledDomain> back = domain_from_key_values(domain_to_key_values(domain));
	ck_assert(back && *back == domain);
	domain.enabled = false;
	back = domain_from_key_values(domain_to_key_values(domain));
	ck_assert(back && !back->enabled);

	KeyValues values = domain_to_key_values(domain);
	values["enabled"] = "maybe";
	ck_assert(!domain_from_key_values(values));
	values = domain_to_key_values(domain);
	values["domain"] = "bad domain";
	ck_assert(!domain_from_key_values(values));
	values = domain_to_key_values(domain);
	values["enabled"] = "yes";
	values["source"] = "";
	ck_assert(!domain_from_key_values(values)); // enabled, but from where?
	values = domain_to_key_values(domain);
	values["updated"] = "yesterday";
	ck_assert(!domain_from_key_values(values));

	DomainTable table;
	table.load({domain_from_request("a.test", exmail_request, 1)});
	ck_assert(table.enabled("A.Test") != nullptr);
	ck_assert(table.enabled("b.test") == nullptr);
	EnabledDomain off = *table.find("a.test");
	off.enabled = false;
	table.set(off);
	ck_assert(table.enabled("a.test") == nullptr);
	ck_assert(table.find("a.test") != nullptr);
}
END_TEST

START_TEST(only_enabled_domains_are_moved_without_a_source)
{
	Service service;
	// No source of its own and no enabled domain: nothing, not even a
	// userdb lookup or a stored password.
	service.intake.notification(join_fields({"LOGIN", "ann@a.test", "password=pw1"}),
				    fixture_mail_uid);
	ck_assert_uint_eq(service.store.size(), 0);
	ck_assert(service.directory.lookups.empty());
	ck_assert(!service.vault.info("ann@a.test"));

	ck_assert(enable(service, "A.test", "imap://127.0.0.1:10143", "exmail") ==
		  Users{"OK"});
	service.intake.notification(join_fields({"LOGIN", "ann@a.test", "password=pw1"}),
				    fixture_mail_uid);
	service.intake.notification(join_fields({"LOGIN", "bo@b.test"}), fixture_mail_uid);
	ck_assert_string_eq(service.state_of("ann@a.test"), "queued");
	ck_assert_string_eq(service.field_of("ann@a.test", "source"),
			 "imap://127.0.0.1:10143");
	ck_assert(service.vault.info("ann@a.test"));
	ck_assert_string_eq(service.state_of("bo@b.test"), "none");

	// The worker hears the domain's source and provider, with the
	// login's password from the vault, as one value.
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 1);
	ck_assert(starts[0].job_fields == (Users{"source=imap://127.0.0.1:10143",
						 "source_from=domain", "provider=exmail",
						 "password=pw1"}));

	// A global source (no source_from) gives way to the domain's; a
	// userdb one wins.
	service.login("cy@a.test", "imaps://global:993");
	ck_assert_string_eq(service.field_of("cy@a.test", "source"),
			 "imap://127.0.0.1:10143");
	service.intake.notification(join_fields({"LOGIN", "di@a.test", "source=imaps://own:993",
						 "source_from=userdb"}),
				    fixture_mail_uid);
	ck_assert_string_eq(service.field_of("di@a.test", "source"), "imaps://own:993");
	// A user of a domain not enabled still moves with a global source.
	service.login("ed@b.test", "imaps://global:993");
	ck_assert_string_eq(service.state_of("ed@b.test"), "queued");
}
END_TEST

START_TEST(disable_stops_new_queuing_and_list_counts)
{
	Service service;
	ck_assert(enable(service, "a.test", "imaps://imap.a.test") == Users{"OK"});
	service.intake.notification(join_fields({"LOGIN", "ann@a.test"}), fixture_mail_uid);
	service.intake.notification(join_fields({"LOGIN", "Bob@A.TEST"}), fixture_mail_uid);
	std::vector<RunStart> starts = service.tick();
	ck_assert_uint_eq(starts.size(), 2);
	for (const RunStart &start : starts) {
		if (start.user == "Bob@A.TEST")
			service.finish_run(start.run, 5, 5);
	}

	std::string line = listed(service, "a.test");
	ck_assert_string_eq(reply_field(line, "state"), "enabled");
	ck_assert_string_eq(reply_field(line, "source"), "imaps://imap.a.test:993");
	ck_assert_string_eq(reply_field(line, "via"), "--source");
	ck_assert_string_eq(reply_field(line, "users"), "2");
	ck_assert_string_eq(reply_field(line, "done"), "1");
	ck_assert_string_eq(reply_field(line, "running"), "1"); // ann, after Bob's run
	ck_assert_string_eq(reply_field(line, "window"), "open");
	ck_assert(!reply_field(line, "window_closes").empty());

	ck_assert(service.admin({"DOMAIN-DISABLE", "A.test"}) == Users{"OK"});
	service.intake.notification(join_fields({"LOGIN", "cy@a.test"}), fixture_mail_uid);
	ck_assert_string_eq(service.state_of("cy@a.test"), "none");
	ck_assert_string_eq(reply_field(listed(service, "a.test"), "state"), "disabled");
	ck_assert(starts_with(service.admin({"DOMAIN-DISABLE", "a.test"})[0],
			      "ERR\tdomain a.test is not enabled"));
	ck_assert(starts_with(service.admin({"DOMAIN-DISABLE", "x y"})[0],
			      "ERR\tinvalid domain name"));
	ck_assert(starts_with(enable(service, "a.test", "gopher://x")[0],
			      "ERR\tinvalid source"));
	ck_assert(starts_with(service.admin({"DOMAIN-ENABLE"})[0], "ERR"));
}
END_TEST

START_TEST(domains_survive_a_restart_and_a_compaction)
{
	TempDir dir;
	FakeClock clock{fixture_start_time};
	CapturingLogger logger;
	RecordingJobEvents events;
	{
		FileJobStore store(dir.path() + "/jobs.journal", logger);
		vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
		ServiceCore core(store, vault, clock, logger, events, fixture_settings());
		core.admin_line(1, join_fields({"DOMAIN-ENABLE", "a.test", "source=imap://h:143",
						"provider=exmail", "via=MX mxbiz1.qq.com"}));
		core.admin_line(1, join_fields({"DOMAIN-ENABLE", "b.test", "source=imap://h:143"}));
		core.admin_line(1, join_fields({"DOMAIN-DISABLE", "b.test"}));
	}
	{
		FileJobStore store(dir.path() + "/jobs.journal", logger);
		std::vector<EnabledDomain> domains = store.domains();
		ck_assert_uint_eq(domains.size(), 2);
		ck_assert_string_eq(domains[0].domain, "a.test");
		ck_assert(domains[0].enabled && !domains[1].enabled);
		ck_assert_string_eq(domains[0].via, "MX mxbiz1.qq.com");
		store.compact();
	}
	FileJobStore store(dir.path() + "/jobs.journal", logger);
	ck_assert_uint_eq(store.open_report().unknown, 0);
	vault::CredentialVault vault(dir.path() + "/v", dir.path() + "/k", logger);
	ServiceCore core(store, vault, clock, logger, events, fixture_settings());
	ck_assert(core.wants_login("x@a.test", {}));
	ck_assert(!core.wants_login("x@b.test", {}));
	ck_assert_string_eq(reply_field(core.admin_line(1, "DOMAIN-LIST")[0], "provider"),
			 "exmail");
}
END_TEST

// ---- doveadm's choice of a domain's source ----

namespace {

providers::PresetTable two_presets()
{
	providers::PresetTable table;
	table.load_text("[exmail]\nimap = imaps://imap.exmail.qq.com\n"
			"mx = mxbiz1.qq.com\n\n"
			"[pop-only]\npop3 = pop3s://pop.example.net\n",
			"test");
	return table;
}

std::string usage_error(const std::string &domain, const std::string &source,
			const std::string &provider)
{
	CannedResolver dns;
	try {
		providers::choose_domain_source(domain, source, provider, two_presets(), dns);
	} catch (const providers::InvalidDomainRequest &e) {
		ck_assert(dns.asked.empty()); // bad input asks no DNS
		return e.what();
	}
	ck_abort_msg("accepted %s %s %s", domain.c_str(), source.c_str(), provider.c_str());
	return "";
}

} // namespace

START_TEST(choice_from_source_provider_or_dns)
{
	providers::PresetTable presets = two_presets();
	CannedResolver dns;
	dns.mx_answers["a.test"] = {providers::DnsStatus::ok, {{10, "mxbiz1.qq.com"}}, ""};

	providers::DomainChoice choice =
		providers::choose_domain_source("A.test", "", "", presets, dns);
	ck_assert_string_eq(choice.domain, "a.test");
	ck_assert_string_eq(choice.provider, "exmail");
	ck_assert_string_eq(choice.source, "imaps://imap.exmail.qq.com:993");
	ck_assert_string_eq(choice.via, "MX mxbiz1.qq.com");
	ck_assert_string_eq(choice.requested, "auto");

	dns.asked.clear();
	choice = providers::choose_domain_source("b.test", "auto", "pop-only", presets, dns);
	ck_assert_string_eq(choice.source, "pop3s://pop.example.net:995");
	ck_assert_string_eq(choice.via, "--provider pop-only");
	ck_assert(dns.asked.empty());

	// A URL of a preset's server gets that preset; another none.
	choice = providers::choose_domain_source("c.test", "imaps://imap.exmail.qq.com", "",
						 presets, dns);
	ck_assert_string_eq(choice.provider, "exmail");
	ck_assert_string_eq(choice.via, "--source");
	choice = providers::choose_domain_source("c.test", "imap://127.0.0.1:10143", "exmail",
						 presets, dns);
	ck_assert_string_eq(choice.source, "imap://127.0.0.1:10143");
	ck_assert_string_eq(choice.provider, "exmail");
	ck_assert_string_eq(choice.via, "--source and --provider");
	ck_assert(dns.asked.empty());

	// Nothing detected: refused, not guessed.
	try {
		providers::choose_domain_source("self.test", "auto", "", presets, dns);
		ck_abort_msg("a self-hosted domain got a source");
	} catch (const Failure &failure) {
		ck_assert(failure.kind() == FailureKind::permanent);
		ck_assert(contains(failure.what(), "no provider detected for self.test"));
		ck_assert(contains(failure.what(), "give --source URL or --provider NAME"));
	}

	ck_assert(contains(usage_error("bad domain", "", ""), "invalid domain name"));
	ck_assert(contains(usage_error("a.test", "", "nosuch"), "unknown provider 'nosuch'"));
	ck_assert(contains(usage_error("a.test", "imap//x", ""), "invalid --source 'imap//x'"));
}
END_TEST

static Suite *domains_suite()
{
	Suite *s = suite_create("domains");
	TCase *tc = tcase_create("domains");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, request_is_validated_and_normalized);
	tcase_add_test(tc, records_round_trip_and_bad_ones_are_refused);
	tcase_add_test(tc, only_enabled_domains_are_moved_without_a_source);
	tcase_add_test(tc, disable_stops_new_queuing_and_list_counts);
	tcase_add_test(tc, domains_survive_a_restart_and_a_compaction);
	tcase_add_test(tc, choice_from_source_provider_or_dns);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({domains_suite()});
}
