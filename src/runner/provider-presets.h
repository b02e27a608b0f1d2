#ifndef MAILMOVE_PROVIDER_PRESETS_H
#define MAILMOVE_PROVIDER_PRESETS_H

/* The provider presets and detection (src/providers/) for Dovecot's C
   code: `doveadm mailmove provider list|detect`. The presets are the
   installed MAILMOVE_PROVIDERS_PATH ($pkgdatadir/providers.conf) and then
   mailmove-providers.conf in the directory of the Dovecot configuration
   in use (usually /etc/dovecot/), which an admin writes to add, change or
   remove providers. No exception escapes; strings are on the data stack. */

#ifdef __cplusplus
extern "C" {
#endif

/* The admin's presets file beside dovecot_config_path when that is a file
   (doveadm -c, dovecot -c), else in Dovecot's configuration directory
   (MAILMOVE_DOVECOT_CONFDIR, configure --with-dovecot-confdir): Dovecot's
   services are handed the config socket, not dovecot.conf (data stack). */
const char *mailmove_providers_override_path(const char *dovecot_config_path);

/* Calls row() with each preset's key=value fields (NULL-terminated):
   name, title, imap, pop3, mx, id, max_connections, daily_download,
   oauth2_only, confirmed, note, origin. Returns 0, or -1 with error_r
   when a presets file is missing or invalid. */
int mailmove_provider_list(const char *override_path,
			   void (*row)(const char *const *fields, void *context),
			   void *context, const char **error_r);

/* Detects domain's provider through the system resolver. fields_r:
   domain, provider, source, via, candidates (key=value, NULL-terminated;
   candidates: when nothing was detected, the usual server URLs that greet
   like an IMAP server, providers/server-probe.h). Returns 0, or -1 with
   failure_kind_r ("temporary": DNS did not answer; "permanent": bad
   domain, NXDOMAIN, bad presets) and error_r. Blocks for the DNS lookups
   and probes: never call it from the service's loop. */
int mailmove_provider_detect(const char *override_path, const char *domain,
			     const char *const **fields_r,
			     const char **failure_kind_r, const char **error_r);

/* What doveadm mailmove domain enable stores for domain
   (providers/domain-choice.h): source and provider may be NULL or ""
   (source "auto": detect). fields_r: domain, source, provider, via,
   requested. Returns 0, or -1 with failure_kind_r ("usage": bad domain,
   URL or provider name; "temporary": DNS did not answer; "permanent":
   nothing detected, NXDOMAIN, bad presets) and error_r. Blocks for the DNS
   lookups. */
int mailmove_domain_choose(const char *override_path, const char *domain,
			   const char *source, const char *provider,
			   const char *const **fields_r,
			   const char **failure_kind_r, const char **error_r);

#ifdef __cplusplus
}
#endif

#endif
