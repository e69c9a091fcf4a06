module gotriage.dev/agent

go 1.22
