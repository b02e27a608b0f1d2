# Makes the Dovecot 2.4 example (installed when the plugin is built against
# 2.4, see Makefile.am) from 90-mailmove.conf, Dovecot 2.3's: one text to
# keep, the syntax changed by these rules.
3a\
##\
## This is the Dovecot 2.4 configuration (made from the Dovecot 2.3 one by\
## conf.d/dovecot-2.4.sed). The setting names are the same as on 2.3, but\
## they are ordinary global settings: there is no plugin { } section.
s/^mail_plugins = \$mail_plugins mailmove$/mail_plugins {\
  mailmove = yes\
}/
s/^  service_count = 1$/  restart_request_count = 1/
/^plugin {$/,/^}$/{
/^plugin {$/c\
# The plugin's settings. Dovecot 2.4 knows their types and defaults from the\
# plugin's settings module: a value of the wrong kind stops Dovecot at start.
/^}$/d
s/^  //
}
s/%u full user name, %n user part, %d domain\./%{user} full user name, %{user | username} user part, %{user | domain} domain./
s/^\(#mailmove_source_user = \)%u$/\1%{user}/
s/passdb { override_fields = userdb_mailmove_password=%w }/passdb { fields { userdb_mailmove_password = %{password} } }/
# A metric's group_by is a list of named blocks on 2.4.
s/^#  group_by = \([a-z_]*\) \([a-z_]*\)$/#  group_by \1 {\n#  }\n#  group_by \2 {\n#  }/
s/^#  group_by = \([a-z_]*\)$/#  group_by \1 {\n#  }/
# The cluster's shared job table is a named dict in a mailmove { } filter.
/^#mailmove_dict = redis:host=127.0.0.1:port=6379$/c\
# On Dovecot 2.4 it is the dict of a mailmove { } block (redis, or proxy\
# to an SQL dict of the dict_server { } block, doc/cluster.md):\
#mailmove {\
#  dict redis {\
#    redis_host = 127.0.0.1\
#    redis_port = 6379\
#  }\
#}
/^#mailmove_dict = proxy::mailmove$/c\
# or:\
#mailmove {\
#  dict proxy {\
#    dict_proxy_name = mailmove\
#  }\
#}
