// The localized-name table: what folders are called on servers and clients
// that do not mark their special folders with RFC 6154 attributes. Only
// names that mean one role and nothing else belong here: Outlook's
// "Outbox" (发件箱, Postausgang) is not Sent, and unknown names stay plain
// folders, which loses nothing.
#include "names/role.h"

#include <unordered_map>

#include "names/normalize.h"

namespace mailmove::names {

namespace {

struct LocalizedName {
	Role role;
	const char *name;
};

const LocalizedName localized_names[] = {
	// English: RFC 6154 examples, Outlook/Exchange, Thunderbird, Apple
	// Mail and QQ ("Sent Messages", "Deleted Messages"), Yahoo ("Bulk Mail").
	{Role::sent, "Sent"},
	{Role::sent, "Sent Items"},
	{Role::sent, "Sent Mail"},
	{Role::sent, "Sent Messages"},
	{Role::drafts, "Drafts"},
	{Role::drafts, "Draft"},
	{Role::trash, "Trash"},
	{Role::trash, "Deleted Items"},
	{Role::trash, "Deleted Messages"},
	{Role::trash, "Deleted"},
	{Role::trash, "Bin"},
	{Role::junk, "Junk"},
	{Role::junk, "Junk E-mail"},
	{Role::junk, "Junk Email"},
	{Role::junk, "Junk Mail"},
	{Role::junk, "Spam"},
	{Role::junk, "Bulk Mail"},
	{Role::archive, "Archive"},
	{Role::archive, "Archives"},

	// German (Outlook's older "Objekte" and newer "Elemente").
	{Role::sent, "Gesendet"},
	{Role::sent, "Gesendete Objekte"},
	{Role::sent, "Gesendete Elemente"},
	{Role::drafts, "Entwürfe"},
	{Role::trash, "Papierkorb"},
	{Role::trash, "Gelöschte Objekte"},
	{Role::trash, "Gelöschte Elemente"},
	{Role::junk, "Junk-E-Mail"},
	{Role::archive, "Archiv"},

	// French.
	{Role::sent, "Envoyés"},
	{Role::sent, "Éléments envoyés"},
	{Role::sent, "Messages envoyés"},
	{Role::drafts, "Brouillons"},
	{Role::trash, "Corbeille"},
	{Role::trash, "Éléments supprimés"},
	{Role::junk, "Courrier indésirable"},
	{Role::junk, "Indésirables"},
	{Role::junk, "Pourriel"},

	// Spanish.
	{Role::sent, "Enviados"},
	{Role::sent, "Elementos enviados"},
	{Role::sent, "Correo enviado"},
	{Role::drafts, "Borradores"},
	{Role::trash, "Papelera"},
	{Role::trash, "Elementos eliminados"},
	{Role::junk, "Correo no deseado"},
	{Role::archive, "Archivo"},

	// Simplified Chinese: Tencent Exmail/QQ, NetEase (163/126), Aliyun,
	// 263, 35.cn web folders and Outlook zh-CN. QQ's web "垃圾箱" is its
	// spam folder.
	{Role::sent, "已发送"},
	{Role::sent, "已发送邮件"},
	{Role::sent, "已发邮件"},
	{Role::drafts, "草稿箱"},
	{Role::drafts, "草稿"},
	{Role::drafts, "草稿夹"},
	{Role::trash, "已删除"},
	{Role::trash, "已删除邮件"},
	{Role::junk, "垃圾邮件"},
	{Role::junk, "垃圾箱"},
	{Role::archive, "归档"},
	{Role::archive, "存档"},

	// Traditional Chinese (Taiwan, Hong Kong; Outlook zh-TW).
	{Role::sent, "已傳送"},
	{Role::sent, "已傳送郵件"},
	{Role::sent, "已發送"},
	{Role::sent, "寄件備份"},
	{Role::drafts, "草稿匣"},
	{Role::trash, "已刪除"},
	{Role::trash, "已刪除郵件"},
	{Role::trash, "刪除的郵件"},
	{Role::junk, "垃圾郵件"},
	{Role::archive, "封存"},
	{Role::archive, "歸檔"},
};

using RoleByFoldedName = std::unordered_map<std::string, Role>;

RoleByFoldedName build_role_table()
{
	RoleByFoldedName table;
	for (const LocalizedName &entry : localized_names)
		table.emplace(fold_case(entry.name), entry.role);
	return table;
}

} // namespace

Role role_from_name(std::string_view decoded_leaf_name)
{
	static const RoleByFoldedName table = build_role_table();
	auto found = table.find(fold_case(decoded_leaf_name));
	return found == table.end() ? Role::none : found->second;
}

Role role_from_name(std::string_view decoded_leaf_name, const ProviderFolderNames &provider)
{
	std::string folded = fold_case(decoded_leaf_name);
	for (const auto &[name, role] : provider) {
		if (fold_case(name) == folded)
			return role;
	}
	return role_from_name(decoded_leaf_name);
}

} // namespace mailmove::names
