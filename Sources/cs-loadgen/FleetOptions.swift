import ArgumentParser

/// Options of the scenarios that hold many connections in `hold` worker processes.
struct FleetOptions: ParsableArguments {
    @Option(help: "Connections to open.")
    var connections: Int = 1_000

    @Option(help: "Connections started at once (over all workers); each wave settles before the next.")
    var burst: Int = 1_000

    @Option(name: .customLong("per-process"), help: "Connections per worker process (bounded by the open-file limit).")
    var perProcess: Int = 15_000

    func validate() throws {
        guard (1...500_000).contains(connections), burst >= 1, perProcess >= 1 else {
            throw ValidationError("--connections 1...500000, --burst ≥ 1, --per-process ≥ 1")
        }
    }

    /// Connections per worker: the requested size, at most what this machine's open-file limit allows.
    var effectivePerProcess: Int { min(perProcess, SystemLimits.connectionCapacity()) }
}
