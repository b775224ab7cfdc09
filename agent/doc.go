// Package agent is the daemon behind `shellwatch run`: the composition root
// that wires watcher → scanner → policy → quarantine and alert sinks, and
// owns the process's life — sd_notify (READY, STATUS, WATCHDOG), SIGHUP
// reload and SIGTERM drain.
//
// Data flows one way. The watcher reports changes; a pool of workers scans
// each changed file with the current [Engine]; the policy decides from the
// verdict and from what the agent knows of the file whether it is moved into
// the vault; every finding becomes one alert.Alert handed to the dispatcher,
// which fans it out to journald and the webhooks.
//
// A reload builds a whole new generation (engine, vault, sinks) off to the
// side and swaps it in only when every part of it was built: a broken config
// or rule file leaves the running generation untouched and raises an alert.
package agent
