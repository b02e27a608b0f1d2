/* mailmove-worker: a Dovecot service process that runs one user's move.
   The mailmove service connects to it (like indexer -> indexer-worker);
   the master starts one process per connection (service_count = 1) up to
   the service's process_limit. It starts as root so that it can become
   any user, then drops to that user for good. */

#include "lib.h"
#include "restrict-access.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "mail-storage-service.h"
#include "worker-connection.h"

#include <malloc.h>

static struct mail_storage_service_ctx *storage_service;

static void client_connected(struct master_service_connection *conn)
{
	master_service_client_connection_accept(conn);
	worker_connection_create(conn->fd, conn->name, storage_service);
}

int main(int argc, char *argv[])
{
	enum mail_storage_service_flags storage_service_flags =
		MAIL_STORAGE_SERVICE_FLAG_USERDB_LOOKUP |
		MAIL_STORAGE_SERVICE_FLAG_NO_IDLE_TIMEOUT;

	/* One malloc arena for all threads (the folder readers). Each extra
	   arena reserves 64 MB of address space, which the service's
	   vsz_limit (default_vsz_limit, 256 MB) refuses; glibc then served
	   every allocation of those threads with an mmap() of its own and
	   every free with a munmap() and a TLB shootdown: the login-started
	   move spent about twice the CPU of `doveadm mailmove run`. */
	(void)mallopt(M_ARENA_MAX, 1);

	master_service = master_service_init("mailmove-worker", 0,
					     &argc, &argv, "");
	if (master_getopt(master_service) > 0)
		return FATAL_DEFAULT;

#ifdef MAILMOVE_DOVECOT_24
	/* 2.4's storage service does not read the settings itself. */
	const char *error;
	if (master_service_settings_read_simple(master_service, &error) < 0)
		i_fatal("Error reading configuration: %s", error);
#endif
	master_service_init_log_with_pid(master_service);
#ifdef MAILMOVE_DOVECOT_24
	storage_service = mail_storage_service_init(master_service,
						    storage_service_flags);
#else
	storage_service = mail_storage_service_init(master_service, NULL,
						    storage_service_flags);
#endif
	restrict_access_allow_coredumps(TRUE);
	master_service_init_finish(master_service);

	master_service_run(master_service, client_connected);

	worker_connections_destroy();
	mail_storage_service_deinit(&storage_service);
	master_service_deinit(&master_service);
	return 0;
}
