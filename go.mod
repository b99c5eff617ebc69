module github.com/tally/uptime

go 1.26

require (
	github.com/jmoiron/sqlx v1.4.0 // indirect
	github.com/lib/pq v1.12.3 // indirect
)
