import Foundation

extension Cluster {
    /// Starts a gateway on a free port and waits until `/readyz` is 200. A port lost to a race
    /// (the process exits early) is retried on another port.
    @discardableResult
    public func startGateway(id: String, jwtSecret: String? = nil, extraArguments: [String] = []) async throws -> GatewayHandle {
        var lastError: (any Error)?
        // Tests drive connections far faster than people type: no per-connection frame limit
        // unless the test sets one (EndToEnd+RateLimits, EndToEnd+Hostile).
        let given = configuration.extraGatewayArguments + extraArguments
        let rateLimit = given.contains("--rate-limit-frames-per-second") ? [] : ["--rate-limit-frames-per-second", "0"]
        for attempt in 1...3 {
            let port = try FreePort.next()
            let metricsPort = try FreePort.next()
            let name = attempt == 1 ? "gateway-\(id)" : "gateway-\(id)-attempt\(attempt)"
            let process = try launcher.launch(
                "cs-gateway",
                name: name,
                arguments: [
                    "--redis-url", redisURL,
                    "--host", "127.0.0.1",
                    "--port", String(port),
                    "--gateway-id", id,
                    "--jwt-secret", jwtSecret ?? configuration.jwtSecret,
                    "--partitions", String(configuration.partitions),
                    "--log-level", configuration.logLevel,
                    "--metrics-port", String(metricsPort),
                ] + rateLimit + given
            )
            var handle = GatewayHandle(id: id, port: port, process: process)
            handle.metricsPort = metricsPort
            lock.withLock { _gateways.append(handle) }
            do {
                try await waitUntilReady(handle, timeout: configuration.readyTimeout)
                return handle
            } catch let error as LaunchError {
                lastError = error
                guard case .exitedEarly = error else { break }
                lock.withLock { _gateways.removeAll { $0.process === process } }
                logger.warning("gateway \(id) exited during start (attempt \(attempt)); retrying on another port")
            }
        }
        throw lastError!
    }

    /// Polls `GET /readyz` until it answers 200.
    public func waitUntilReady(_ gateway: GatewayHandle, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastDetail = "no answer yet"
        while ContinuousClock.now < deadline {
            if let status = gateway.process.exitStatus {
                throw LaunchError.exitedEarly(name: gateway.process.name, status: status, logTail: gateway.process.logTail())
            }
            do {
                let response = try await gateway.http.get("/readyz", timeout: .seconds(5))
                if response.status == 200 { return }
                lastDetail = "GET /readyz answered \(response.status): \(response.bodyText)"
            } catch {
                lastDetail = "GET /readyz failed: \(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LaunchError.notReady(name: gateway.process.name, detail: lastDetail, logTail: gateway.process.logTail())
    }

    @discardableResult
    public func startDispatcher(id: String, leaseMilliseconds: Int? = nil, extraArguments: [String] = []) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-dispatcher",
            name: "dispatcher-\(id)",
            arguments: [
                "--redis-url", redisURL,
                "--dispatcher-id", id,
                "--partitions", String(configuration.partitions),
                "--lease-ms", String(leaseMilliseconds ?? configuration.leaseMilliseconds),
                "--log-level", configuration.logLevel,
            ] + configuration.extraDispatcherArguments + extraArguments
        )
        lock.withLock { _dispatchers.append(process) }
        return process
    }

    @discardableResult
    public func startNotifier(id: String) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-notifier",
            name: "notifier-\(id)",
            arguments: ["--redis-url", redisURL, "--notifier-id", id, "--log-level", configuration.logLevel]
        )
        lock.withLock { _notifiers.append(process) }
        return process
    }

    public func gateway(_ id: String) -> GatewayHandle? { gateways.first { $0.id == id } }
    public func dispatcher(_ id: String) -> ManagedProcess? { dispatchers.first { $0.name == "dispatcher-\(id)" } }

    /// SIGKILLs `process` and remembers that its death is intended (not reported at shutdown).
    @discardableResult
    public func kill(_ process: ManagedProcess) async -> ExitStatus {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(process)) }
        return await process.kill()
    }

    /// Processes that died although the test did not kill them.
    public func unexpectedlyExited() -> [ManagedProcess] {
        let killed = lock.withLock { deliberatelyKilled }
        return allProcesses.filter { !$0.isRunning && !killed.contains(ObjectIdentifier($0)) }
    }

    /// Stops every process: gateways first (clients get 1001), then dispatchers and notifiers.
    /// With `gracefully`, SIGTERM and wait, SIGKILL after `stopTimeout`; returns what went wrong
    /// (a process that had died unexpectedly, did not stop in time, or exited non-zero).
    @discardableResult
    public func stopAll(gracefully: Bool) async -> [String] {
        let (gateways, others, killed) = lock.withLock {
            (_gateways.map(\.process), _dispatchers + _notifiers + _archivers, deliberatelyKilled)
        }
        var problems: [String] = []
        for process in gateways + others where !process.isRunning && !killed.contains(ObjectIdentifier(process)) {
            problems.append("\(process.name) had exited unexpectedly (\(process.exitStatus!)); see \(process.logFile.path)")
        }
        for group in [gateways, others] {
            let running = group.filter(\.isRunning)
            if !gracefully {
                for process in running { await process.kill() }
                continue
            }
            let timeout = configuration.stopTimeout
            let results = await withTaskGroup(of: String?.self) { tasks in
                for process in running {
                    tasks.addTask {
                        do {
                            let status = try await process.terminate(timeout: timeout)
                            return status.isSuccess ? nil : "\(process.name) exited with \(status) after SIGTERM; see \(process.logFile.path)"
                        } catch {
                            return "\(process.name) did not exit within \(timeout) of SIGTERM and was killed; see \(process.logFile.path)"
                        }
                    }
                }
                var found: [String] = []
                for await problem in tasks { if let problem { found.append(problem) } }
                return found
            }
            problems += results
        }
        return problems
    }

    /// Prints the last lines of every log to stderr (failures in CI are diagnosed from this).
    public func printLogTails(reason: String, lines: Int = 30) {
        var text = "\n===== \(launcher.testName): \(reason)\n"
        for process in allProcesses {
            text += "----- \(process.name) [\(process.isRunning ? "running" : "\(process.exitStatus!)")] \(process.logFile.path)\n"
            text += process.logTail(lines: lines) + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
