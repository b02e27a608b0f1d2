// Provider presets and detection: the installed presets parse and every
// provider the product promises is in them with its MX names; an admin's
// file overrides, adds and removes; bad files are refused with file and
// line; detection picks MX before SRV before nothing, and never turns a
// DNS failure into a guess.
#include <map>

#include "providers/detection.h"
#include "providers/preset.h"
#include "check-assert.h"
#include "check-main.h"

using namespace mailmove;
using namespace mailmove::providers;

namespace {

PresetTable installed_presets()
{
	return load_presets(PROVIDERS_CONF, "");
}

// Canned DNS: names without an entry do not exist (NXDOMAIN); "failed"
// entries time out.
class FakeResolver final : public Resolver {
public:
	std::map<std::string, DnsAnswer<MxRecord>> mx_answers;
	std::map<std::string, DnsAnswer<SrvRecord>> srv_answers;
	std::vector<std::string> asked;

	void add_mx(const std::string &name, std::vector<MxRecord> records)
	{
		mx_answers[name] = {records.empty() ? DnsStatus::no_records : DnsStatus::ok,
				    std::move(records), ""};
	}
	void add_srv(const std::string &name, std::vector<SrvRecord> records)
	{
		srv_answers[name] = {DnsStatus::ok, std::move(records), ""};
	}

	DnsAnswer<MxRecord> mx(const std::string &name) override
	{
		asked.push_back("MX " + name);
		auto it = mx_answers.find(name);
		return it != mx_answers.end() ? it->second :
						DnsAnswer<MxRecord>{DnsStatus::no_domain, {}, ""};
	}
	DnsAnswer<SrvRecord> srv(const std::string &name) override
	{
		asked.push_back("SRV " + name);
		auto it = srv_answers.find(name);
		return it != srv_answers.end() ? it->second :
						 DnsAnswer<SrvRecord>{DnsStatus::no_domain, {}, ""};
	}
};

} // namespace

START_TEST(installed_presets_name_every_promised_provider)
{
	PresetTable table = installed_presets();
	// Each MX host the issue and docs name, and the preset it must give.
	const std::pair<const char *, const char *> mx_hosts[] = {
		{"mxbiz1.qq.com", "exmail"},
		{"mxbiz2.qq.com.", "exmail"},
		{"mx1.qq.com", "qq"},
		{"MX3.QQ.COM", "qq"},
		{"qiye163mx01.mxmail.netease.com", "netease-qiye"},
		{"qiye163mx02.mxmail.netease.com", "netease-qiye"},
		{"163mx00.mxmail.netease.com", "netease-163"},
		{"163mx03.mxmail.netease.com", "netease-163"},
		{"126mx02.mxmail.netease.com", "netease-126"},
		{"yeahmx01.mxmail.netease.com", "netease-yeah"},
		{"mxw.263.net", "263"},
		{"mx.263.net", "263"},
		{"mx1.qiye.aliyun.com", "aliyun"},
		{"mx3.qiye.aliyun.com", "aliyun"},
		{"mxn.mxhichina.com", "aliyun"},
		{"mx.ns.35.cn", "35cn"},
		{"aspmx.l.google.com", "gmail"},
		{"alt4.aspmx.l.google.com", "gmail"},
		{"aspmx5.googlemail.com", "gmail"},
		{"contoso-com.mail.protection.outlook.com", "microsoft365"},
		{"mta6.am0.yahoodns.net", "yahoo"},
		{"mx2.zoho.com", "zoho"},
	};
	for (const auto &[host, name] : mx_hosts) {
		std::string pattern;
		const Preset *preset = table.match_host(host, &pattern);
		ck_assert_msg(preset != nullptr, "MX %s matches no preset", host);
		ck_assert_msg(preset->name == name, "MX %s gives %s, expected %s", host,
			      preset->name.c_str(), name);
		ck_assert(!pattern.empty());
	}
	// Near misses stay unmatched.
	for (const char *host : {"mx4.qq.com", "mail.protection.outlook.com.evil.example",
				 "mx.example.com", "qq.com", ""})
		ck_assert_msg(table.match_host(host) == nullptr, "%s matched", host);

	const Preset *exmail = table.find("exmail");
	ck_assert_string_eq(exmail->imap, "imaps://imap.exmail.qq.com:993");
	ck_assert_string_eq(exmail->pop3, "pop3s://pop.exmail.qq.com:995");
	ck_assert_uint_eq(exmail->imap_alternatives.size(), 1);
	ck_assert_string_eq(exmail->imap_alternatives[0], "imaps://hwimap.exmail.qq.com:993");
	ck_assert_string_eq(table.find("263")->pop3, "pop3s://pop.263.net:995");
	ck_assert(table.find("netease-qiye")->id == IdTiming::both);
	ck_assert(table.find("netease-163")->id == IdTiming::both);
	ck_assert(table.find("qq")->id == IdTiming::before_login);
	const Preset *gmail = table.find("gmail");
	ck_assert_uint_eq(gmail->daily_download_bytes, 2500ULL * 1024 * 1024);
	ck_assert_uint_eq(gmail->max_connections, 15);
	ck_assert(gmail->throttling.matches("* BYE Session expired, please login again."));
	ck_assert(gmail->throttling.matches("a3 NO [THROTTLED] Too many commands"));
	ck_assert(!gmail->throttling.matches("* BYE Logging out"));
	ck_assert_int_eq(gmail->throttling.backoff.count(), 3600);
	const Preset *microsoft = table.find("microsoft365");
	ck_assert(microsoft->oauth2_only);
	ck_assert(microsoft->throttling.matches(
		"a4 BAD Request is throttled. Suggested Backoff Time: 2000 milliseconds"));
	ck_assert(microsoft->throttling.matches("a5 NO Server Unavailable. 15"));
	ck_assert(!microsoft->throttling.matches("a5 NO Server Unavailable. 1"));
	// Microsoft's own suggestion wins over the preset's backoff.
	ck_assert_int_eq(microsoft->throttling
				 .backoff_for("BAD Request is throttled. Suggested Backoff Time: "
					      "201317 milliseconds")
				 .count(),
			 202);
	ck_assert_int_eq(microsoft->throttling.backoff_for("NO Server Unavailable. 15").count(),
			 300);
	// Facts without a primary source say so.
	ck_assert(!table.find("35cn")->confirmed);
	ck_assert(contains(table.find("35cn")->note, "unconfirmed"));
	ck_assert(!table.find("zoho")->confirmed);
	ck_assert(table.find("exmail")->confirmed);
	// Every provider has a server and a hint for refused logins.
	for (const Preset &preset : table.presets()) {
		ck_assert_msg(!preset.imap.empty(), "%s has no IMAP server", preset.name.c_str());
		ck_assert_msg(!preset.auth_hint.empty(), "%s has no auth hint", preset.name.c_str());
		ck_assert_msg(!preset.mx_patterns.empty(), "%s has no MX", preset.name.c_str());
	}
	// QQ's localized folders are in its table.
	bool sent_messages = false;
	for (const FolderRole &folder : table.find("qq")->folders)
		sent_messages |= folder.role == "\\Sent" && folder.legacy_name == "Sent Messages";
	ck_assert(sent_messages);
}
END_TEST

START_TEST(admin_file_overrides_adds_and_removes)
{
	PresetTable table = installed_presets();
	size_t installed = table.presets().size();
	table.load_text("# site overrides\n"
			"[exmail]\n"
			"title = Exmail through our proxy\n"
			"imap = imap://127.0.0.1:10143\n"
			"mx = mxbiz?.qq.com\n"
			"\n"
			"[corp-legacy]\n"
			"imap = imaps://mail.corp.example\n"
			"mx = *.corp.example\n"
			"id = after-login\n"
			"[yahoo]\n"
			"disabled = yes\n",
			"/etc/dovecot/mailmove-providers.conf");
	ck_assert_uint_eq(table.presets().size(), installed); // +1 -1
	const Preset *exmail = table.find("exmail");
	ck_assert_string_eq(exmail->imap, "imap://127.0.0.1:10143");
	// Replaced entirely: nothing of the installed section is left.
	ck_assert(exmail->pop3.empty());
	ck_assert(exmail->imap_alternatives.empty());
	ck_assert_string_eq(exmail->origin, "/etc/dovecot/mailmove-providers.conf:2");
	ck_assert(table.find("yahoo") == nullptr);
	ck_assert(table.match_host("mta5.am0.yahoodns.net") == nullptr);
	const Preset *corp = table.find("corp-legacy");
	ck_assert(corp != nullptr);
	ck_assert_string_eq(corp->imap, "imaps://mail.corp.example:993");
	ck_assert(corp->id == IdTiming::after_login);
	ck_assert(table.match_host("mx1.corp.example") == corp);
}
END_TEST

START_TEST(bad_files_are_refused_with_file_and_line)
{
	const std::pair<const char *, const char *> bad[] = {
		{"[a]\nimapp = imaps://x\n", "f.conf:2: unknown key 'imapp'"},
		{"imap = imaps://x\n", "f.conf:1: key = value before the first [name]"},
		{"[a]\nimap = pop3s://x\n", "f.conf:2: expected an imap://"},
		{"[a]\nimap = imaps://user:pw@x\n", "f.conf:2: user names and passwords"},
		{"[a]\n\n\nid = sometimes\n", "f.conf:4: id must be"},
		{"[Bad Name]\n", "f.conf:1: invalid provider name"},
		{"[a\n", "f.conf:1: expected [name]"},
		{"[a]\njust words\n", "f.conf:2: expected key = value"},
		{"[a]\ndaily_download = lots\n", "f.conf:2: invalid size"},
		{"[a]\nfolder_outbox = Outbox\n", "f.conf:2: unknown folder role"},
		{"[a]\noauth2_only = maybe\n", "f.conf:2: expected yes or no"},
	};
	for (const auto &[text, reason] : bad) {
		PresetTable table = installed_presets();
		size_t before = table.presets().size();
		Failure failure = expect_failure([&] { table.load_text(text, "f.conf"); });
		ck_assert(failure.kind() == FailureKind::permanent);
		ck_assert_msg(contains(failure.what(), reason), "'%s' gave '%s', expected '%s'",
			      text, failure.what(), reason);
		ck_assert(!contains(failure.what(), "pw@"));
		// Nothing of a refused file is taken.
		ck_assert_uint_eq(table.presets().size(), before);
		ck_assert(table.find("a") == nullptr);
	}
	Failure missing = expect_failure([] { load_presets("/nonexistent/providers.conf", ""); });
	ck_assert(contains(missing.what(), "/nonexistent/providers.conf"));
	// A missing override file is fine.
	PresetTable table = load_presets(PROVIDERS_CONF, "/nonexistent/override.conf");
	ck_assert(table.find("exmail") != nullptr);
}
END_TEST

START_TEST(host_patterns)
{
	ck_assert(host_pattern_matches("*.mail.protection.outlook.com",
				       "a-b.mail.protection.outlook.com"));
	ck_assert(host_pattern_matches("*.mail.protection.outlook.com",
				       "X.Y.MAIL.PROTECTION.OUTLOOK.COM."));
	ck_assert(!host_pattern_matches("*.mail.protection.outlook.com",
					"mail.protection.outlook.com"));
	ck_assert(!host_pattern_matches("*.mail.protection.outlook.com",
					"a.mail.protection.outlook.com.evil.example"));
	ck_assert(host_pattern_matches("163mx0?.mxmail.netease.com", "163mx02.mxmail.netease.com"));
	ck_assert(!host_pattern_matches("163mx0?.mxmail.netease.com",
					"163mx012.mxmail.netease.com"));
	ck_assert(!host_pattern_matches("mx1.qq.com", "mx1.qq.com.cn"));
	ck_assert(!host_pattern_matches("mx1.qq.com", ""));
	ck_assert(host_pattern_matches("a*b*c", "axxbyyc"));
	ck_assert(!host_pattern_matches("a*b*c", "axxbyy"));
}
END_TEST

START_TEST(detect_by_mx_lowest_preference_first)
{
	PresetTable table = installed_presets();
	FakeResolver dns;
	// The backup MX would say Gmail; the primary says Exmail.
	dns.add_mx("example.com", {{20, "alt1.aspmx.l.google.com"}, {5, "mxbiz1.qq.com"}});
	Detection found = detect_provider("Example.COM.", table, dns);
	ck_assert_string_eq(found.domain, "example.com");
	ck_assert_string_eq(found.provider, "exmail");
	ck_assert_string_eq(found.source, "imaps://imap.exmail.qq.com:993");
	ck_assert_string_eq(found.via, "MX mxbiz1.qq.com");
	ck_assert(found.by == DetectedBy::mx);
	// No SRV question once the MX settled it.
	ck_assert_uint_eq(dns.asked.size(), 1);

	// An MX that is no preset's, then one that is.
	dns.add_mx("mixed.example", {{10, "mx.mixed.example"}, {20, "mx2.qiye.aliyun.com"}});
	found = detect_provider("mixed.example", table, dns);
	ck_assert_string_eq(found.provider, "aliyun");
	ck_assert_string_eq(found.via, "MX mx2.qiye.aliyun.com");
}
END_TEST

START_TEST(detect_by_srv_in_rfc6186_order)
{
	PresetTable table = installed_presets();
	FakeResolver dns;
	dns.add_mx("srv.example", {});
	// "." means: not offered. POP3 is there too, IMAP is preferred.
	dns.add_srv("_imaps._tcp.srv.example", {{0, 0, 0, "."}});
	dns.add_srv("_imap._tcp.srv.example",
		    {{20, 0, 143, "backup.srv.example"}, {10, 5, 1143, "imap.srv.example"},
		     {10, 9, 2143, "imap2.srv.example"}});
	dns.add_srv("_pop3s._tcp.srv.example", {{0, 0, 995, "pop.srv.example"}});
	Detection found = detect_provider("srv.example", table, dns);
	ck_assert(found.provider.empty());
	ck_assert_string_eq(found.source, "imap://imap2.srv.example:2143");
	ck_assert_string_eq(found.via, "SRV _imap._tcp.srv.example");
	ck_assert(found.by == DetectedBy::srv);

	FakeResolver pop_only;
	pop_only.add_mx("pop.example", {{10, "mx.pop.example"}});
	pop_only.add_srv("_pop3s._tcp.pop.example", {{0, 0, 995, "pop.pop.example"}});
	found = detect_provider("pop.example", table, pop_only);
	ck_assert_string_eq(found.source, "pop3s://pop.pop.example:995");
	ck_assert_uint_eq(pop_only.asked.size(), 4); // MX, _imaps, _imap, _pop3s
}
END_TEST

START_TEST(detect_guesses_nothing_for_self_hosted_and_fails_on_dns_trouble)
{
	PresetTable table = installed_presets();
	FakeResolver dns;
	dns.add_mx("self.example", {{10, "mail.self.example"}, {20, "mx2.self.example"}});
	Detection found = detect_provider("self.example", table, dns);
	ck_assert(found.provider.empty());
	ck_assert(found.source.empty());
	ck_assert(found.by == DetectedBy::none);
	ck_assert_string_eq(found.via,
			    "MX mail.self.example mx2.self.example matches no preset; no SRV records");

	dns.add_mx("bare.example", {});
	found = detect_provider("bare.example", table, dns);
	ck_assert(found.source.empty());
	ck_assert_string_eq(found.via, "no MX and no SRV records");

	Failure nxdomain = expect_failure([&] { detect_provider("gone.example", table, dns); });
	ck_assert(nxdomain.kind() == FailureKind::permanent);
	ck_assert(contains(nxdomain.what(), "does not exist"));

	dns.mx_answers["slow.example"] = {DnsStatus::failed, {}, "timed out"};
	Failure timeout = expect_failure([&] { detect_provider("slow.example", table, dns); });
	ck_assert(timeout.kind() == FailureKind::temporary);
	ck_assert(contains(timeout.what(), "MX slow.example"));

	// An SRV lookup that fails is no "no SRV records" either.
	dns.add_mx("srvslow.example", {{10, "mail.srvslow.example"}});
	dns.srv_answers["_imap._tcp.srvslow.example"] = {DnsStatus::failed, {}, "timed out"};
	Failure srv_timeout =
		expect_failure([&] { detect_provider("srvslow.example", table, dns); });
	ck_assert(srv_timeout.kind() == FailureKind::temporary);

	for (const char *bad : {"", "a b.example", "x..example", ".example", "ex/ample"})
		expect_failure([&] { detect_provider(bad, table, dns); });
}
END_TEST

START_TEST(throttle_backoff_and_suggested_waits)
{
	PresetTable table;
	table.load_text("[slow]\nimap = imaps://imap.slow.example\nthrottle = Try later\n"
			"throttle_backoff = 90s\n[slower]\nimap = imaps://imap.slower.example\n"
			"throttle = busy\nthrottle_backoff = 2h\n[plain]\n"
			"imap = imaps://imap.plain.example\nthrottle = busy\n",
			"test.conf");
	ck_assert_int_eq(table.find("slow")->throttling.backoff.count(), 90);
	ck_assert_int_eq(table.find("slower")->throttling.backoff.count(), 7200);
	ck_assert_int_eq(table.find("plain")->throttling.backoff.count(),
			 source::Throttling::default_backoff.count());
	ck_assert(table.find("slow")->throttling.matches("a1 NO [UNAVAILABLE] TRY LATER please"));
	ck_assert(!table.find("slow")->throttling.matches("a1 NO try again"));
	// No throttle lines: nothing matches, not even an empty answer.
	source::Throttling none;
	ck_assert(!none.matches("anything"));
	for (const char *bad : {"0", "25h", "5d", "m", "-1s", "1.5m", ""}) {
		PresetTable broken;
		Failure failure = expect_failure([&] {
			broken.load_text(std::string("[x]\nimap = imaps://x.example\nthrottle_backoff = ") +
						 bad + "\n",
					 "bad.conf");
		});
		ck_assert_msg(contains(failure.what(), "bad.conf:3") &&
				      contains(failure.what(), "duration"),
			      "%s: %s", bad, failure.what());
	}

	using source::suggested_backoff;
	ck_assert_int_eq(suggested_backoff("Request is throttled. Suggested Backoff Time: 299961 "
					   "milliseconds").count(), 300);
	ck_assert_int_eq(suggested_backoff("suggested backoff time: 1 ms").count(), 1);
	ck_assert_int_eq(suggested_backoff("Suggested Backoff Time: 45 seconds").count(), 45);
	ck_assert_int_eq(suggested_backoff("Suggested Backoff Time: 999999999999 ms").count(),
			 source::Throttling::max_backoff.count());
	ck_assert_int_eq(suggested_backoff("Suggested Backoff Time: 0 ms").count(), 0);
	ck_assert_int_eq(suggested_backoff("Suggested Backoff Time: soon").count(), 0);
	ck_assert_int_eq(suggested_backoff("Server Unavailable. 15").count(), 0);
}
END_TEST

static Suite *providers_suite()
{
	Suite *s = suite_create("providers");
	TCase *tc = tcase_create("providers");
	tcase_add_test(tc, installed_presets_name_every_promised_provider);
	tcase_add_test(tc, admin_file_overrides_adds_and_removes);
	tcase_add_test(tc, bad_files_are_refused_with_file_and_line);
	tcase_add_test(tc, host_patterns);
	tcase_add_test(tc, throttle_backoff_and_suggested_waits);
	tcase_add_test(tc, detect_by_mx_lowest_preference_first);
	tcase_add_test(tc, detect_by_srv_in_rfc6186_order);
	tcase_add_test(tc, detect_guesses_nothing_for_self_hosted_and_fails_on_dns_trouble);
	suite_add_tcase(s, tc);
	return s;
}

int main()
{
	report_uncaught_exceptions();
	return run_check_suites({providers_suite()});
}
