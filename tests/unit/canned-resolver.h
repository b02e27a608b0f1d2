// A DNS resolver for the unit tests: MX answers from a map (no records
// for other names), never an SRV record, and a log of what was asked.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "providers/dns-resolver.h"

class CannedResolver final : public mailmove::providers::Resolver {
public:
	std::map<std::string, mailmove::providers::DnsAnswer<mailmove::providers::MxRecord>>
		mx_answers;
	std::vector<std::string> asked;

	mailmove::providers::DnsAnswer<mailmove::providers::MxRecord>
	mx(const std::string &name) override
	{
		asked.push_back("MX " + name);
		auto it = mx_answers.find(name);
		return it != mx_answers.end() ?
			       it->second :
			       mailmove::providers::DnsAnswer<mailmove::providers::MxRecord>{
				       mailmove::providers::DnsStatus::no_records, {}, ""};
	}
	mailmove::providers::DnsAnswer<mailmove::providers::SrvRecord>
	srv(const std::string &name) override
	{
		asked.push_back("SRV " + name);
		return {mailmove::providers::DnsStatus::no_records, {}, ""};
	}
};
