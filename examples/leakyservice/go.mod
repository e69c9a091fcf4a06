module gotriage.dev/examples/leakyservice

go 1.22

require gotriage.dev/agent v0.0.0

replace gotriage.dev/agent => ../../agent/go
