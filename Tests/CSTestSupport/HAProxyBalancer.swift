import Foundation

/// A real HAProxy in front of a cluster's gateways, configured from
/// `deploy/haproxy/local.cfg.template` (the config `scripts/cluster.sh` uses): health checks on
/// `/readyz`, WebSocket, no stickiness. Its log is `haproxy.log` next to the processes' logs.
///
/// ```swift
/// guard HAProxyBalancer.isAvailable else { return }
/// let lb = try await HAProxyBalancer.start(cluster: cluster)
/// let session = try await lb.http.visitorSession(name: "Ann")
/// // ... scope.connect(lb.webSocketURL, token: session.token)
/// try await lb.stop()
/// ```
public final class HAProxyBalancer: Sendable {
    public let port: Int
    public let process: ManagedProcess
    public let configFile: URL

    init(port: Int, process: ManagedProcess, configFile: URL) {
        self.port = port
        self.process = process
        self.configFile = configFile
    }

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public var webSocketURL: String { "ws://127.0.0.1:\(port)/v1/ws" }
    public var http: GatewayHTTP { GatewayHTTP(baseURL: baseURL) }

    /// The `haproxy` executable (PATH, /usr/sbin), nil when it is not installed.
    public static var executable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent("haproxy")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    public static var isAvailable: Bool { executable != nil }

    /// Renders the template for the cluster's gateways, checks it with `haproxy -c`, starts
    /// HAProxy on a free port and waits until `GET /readyz` through it answers 200.
    public static func start(cluster: Cluster, timeout: Duration = .seconds(30)) async throws -> HAProxyBalancer {
        guard let executable else { throw LaunchError.executableNotFound(name: "haproxy", directory: "PATH, /usr/sbin") }
        let template = try String(
            contentsOf: BuildProducts.packageRoot.appendingPathComponent("deploy/haproxy/local.cfg.template"), encoding: .utf8)
        let port = try FreePort.next()
        let directory = cluster.launcher.logDirectory
        let servers = cluster.gateways.map { "    server \($0.id) 127.0.0.1:\($0.port) check" }.joined(separator: "\n")
        let config = template.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line == "@SERVERS@" { return servers }
            if line.hasPrefix("#") { return String(line) }
            return line.replacingOccurrences(of: "@BIND@", with: "127.0.0.1:\(port)")
                .replacingOccurrences(of: "@PIDFILE@", with: directory.appendingPathComponent("haproxy.pid").path)
        }.joined(separator: "\n")
        let configFile = directory.appendingPathComponent("haproxy.cfg")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        _ = try await cluster.launcher.run(executable, name: "haproxy-check", arguments: ["-c", "-f", configFile.path])

        let process = try cluster.launcher.launch(at: executable, name: "haproxy", arguments: ["-db", "-f", configFile.path])
        let balancer = HAProxyBalancer(port: port, process: process, configFile: configFile)
        let deadline = ContinuousClock.now + timeout
        var last = "no answer yet"
        while ContinuousClock.now < deadline {
            if let status = process.exitStatus {
                throw LaunchError.exitedEarly(name: process.name, status: status, logTail: process.logTail())
            }
            do {
                let response = try await balancer.http.get("/readyz", timeout: .seconds(2))
                if response.status == 200 { return balancer }
                last = "GET /readyz answered \(response.status)"
            } catch {
                last = "GET /readyz failed: \(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = await process.kill()
        throw LaunchError.notReady(name: process.name, detail: last, logTail: process.logTail())
    }

    /// Stops HAProxy (SIGTERM, SIGKILL after 10 s).
    public func stop() async {
        if (try? await process.terminate(timeout: .seconds(10))) == nil { _ = await process.kill() }
    }
}

extension Cluster {
    /// Stops `gateway` with SIGTERM (its clients get 1001) and waits for it to exit; the stop is
    /// deliberate (not reported at shutdown). Returns the exit status (0 expected).
    @discardableResult
    public func terminateGateway(_ gateway: GatewayHandle, timeout: Duration = .seconds(30)) async throws -> ExitStatus {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(gateway.process)) }
        return try await gateway.process.terminate(timeout: timeout)
    }
}
