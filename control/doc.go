// Package control is the daemon's local control channel: a unix socket on
// which `shellwatch deploy begin|end`, `shellwatch baseline accept|diff` and
// `shellwatch status` reach the running daemon.
//
// The daemon calls [Listen] and then [Server.Serve] with a [Handler] (often a
// [Mux]); the command line calls [Call]. Each connection carries exactly one
// [Request] and one [Response], both a single JSON object, and is then closed:
// there is no session state for an attacker to confuse, and a wedged client
// costs one connection slot for at most [Options.Timeout].
//
// The socket is the only door into a root daemon that can stop alerts (deploy
// begin) or bless files (baseline accept), so it is guarded twice. The file
// lives in a directory only root can write (mode 0700 by default, checked
// every start) and is mode 0600. And independently of file modes, every
// connection's peer credentials are read with SO_PEERCRED before a single
// byte of it is read; a peer whose uid is not in [Options.AllowUIDs] (root
// only by default) gets a refusal and is logged with its pid and uid. A web
// server user that somehow reaches the socket still cannot speak to it.
package control
