module github.com/tempestsdk/tempest/cmd/tempest-demo

go 1.26

require (
	github.com/tempestsdk/tempest v0.0.0
	go.uber.org/goleak v1.3.0
)

replace github.com/tempestsdk/tempest => ../../
