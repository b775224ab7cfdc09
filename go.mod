module github.com/shellwatch/shellwatch

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/fsnotify/fsnotify v1.10.1
	github.com/hillu/go-yara/v4 v4.2.4
	go.etcd.io/bbolt v1.4.3
	golang.org/x/sys v0.45.0
	golang.org/x/time v0.16.0
)
