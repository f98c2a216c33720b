import ArgumentParser

/// `cs-loadgen`: drives a running system over real WebSockets and prints one JSON result.
///
/// Scenarios (docs/benchmarks.md explains what each measures and how `make bench` runs them):
/// `chat` (customer/agent pairs, end-to-end latency and throughput), `idle` (gateway memory per
/// idle connection), `broadcast` (fan-out to every connection) and `storm` (connect storm).
/// `hold` is the worker the connection-heavy scenarios start in child processes.
@main
struct LoadgenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-loadgen",
        abstract: "Load generator for the customer-service gateways (WebSocket, loopback only).",
        subcommands: [ChatCommand.self, IdleCommand.self, BroadcastCommand.self, StormCommand.self, HoldCommand.self]
    )
}
