#include "lib.h"
#include "strescape.h"
#include "connection.h"
#include "handshake.h"

int mailmove_handshake_line(struct connection *conn, const char *line)
{
	const char *const *args = t_strsplit_tabescaped(line);
	unsigned int major, minor;

	if (str_array_length(args) != 4 || strcmp(args[0], "VERSION") != 0 ||
	    str_to_uint(args[2], &major) < 0 ||
	    str_to_uint(args[3], &minor) < 0) {
		e_error(conn->event, "Expected a VERSION handshake, "
			"got something else (wrong socket?)");
		return -1;
	}
	if (connection_verify_version(conn, args[1], major, minor) < 0)
		return -1;
	return 1;
}
