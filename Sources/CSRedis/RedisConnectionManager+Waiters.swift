import NIOCore

extension RedisConnectionManager {
    /// Parks the caller until the maintenance loop publishes a connection, the connect timeout
    /// expires, the client is closed or the task is cancelled — whichever comes first.
    func waitForConnection() async throws -> RedisConnection {
        let id = self.state.withLockedValue { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RedisConnection, any Error>) in
                let immediate = self.state.withLockedValue { state -> Result<RedisConnection, any Error>? in
                    switch state.phase {
                    case .connected(let connection) where connection.isActive:
                        return .success(connection)
                    case .closed:
                        return .failure(Self.clientClosedError)
                    case .idle, .connecting, .connected:
                        state.waiters[id] = Waiter(continuation: continuation, timeout: nil)
                        return nil
                    }
                }
                if let immediate {
                    continuation.resume(with: immediate)
                    return
                }
                let timeout = self.eventLoopGroup.any().scheduleTask(in: TimeAmount(self.configuration.connectTimeout)) {
                    self.resumeWaiter(id, with: .failure(self.unavailableError()))
                }
                let stillWaiting = self.state.withLockedValue { state -> Bool in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id]!.timeout = timeout
                    return true
                }
                if !stillWaiting { timeout.cancel() }
                if Task.isCancelled { self.resumeWaiter(id, with: .failure(CancellationError())) }
            }
        } onCancel: {
            self.resumeWaiter(id, with: .failure(CancellationError()))
        }
    }

    /// Resumes one waiter if it is still waiting (exactly-once is guaranteed by removal under the lock).
    func resumeWaiter(_ id: UInt64, with result: Result<RedisConnection, any Error>) {
        guard let waiter = self.state.withLockedValue({ $0.waiters.removeValue(forKey: id) }) else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(with: result)
    }

    /// Resumes every waiter taken out of the state.
    func resumeAll(_ waiters: [Waiter], with result: Result<RedisConnection, any Error>) {
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(with: result)
        }
    }

    /// The error for a waiter whose connect timeout expired: the last authentication failure as
    /// is (so a wrong password is reported as such), otherwise ``RedisError/Code/unavailable``.
    func unavailableError() -> RedisError {
        let lastError = self.state.withLockedValue { $0.lastError }
        if let lastError, lastError.code == .authenticationFailed { return lastError }
        var message = "no connection to Redis at \(self.configuration.host):\(self.configuration.port) within \(self.configuration.connectTimeout)"
        if let lastError { message += " (last error: \(lastError.message))" }
        return RedisError(code: .unavailable, message: message)
    }
}
