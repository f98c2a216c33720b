import CSCore
import Foundation
import Logging
import ServiceLifecycle

/// Deletes orphaned uploads: files never sent in a message within `lifetime` of their upload
/// (and bytes a crash left without a record). Runs in each gateway's ServiceGroup; with a shared
/// volume several gateways may sweep the same file, and deleting one that is gone is no error.
public struct AttachmentSweep: Service {
    let store: any AttachmentStore
    let lifetime: Duration
    let logger: Logger

    public init(store: any AttachmentStore, lifetime: Duration, logger: Logger) {
        self.store = store
        self.lifetime = lifetime
        self.logger = logger
    }

    /// A quarter of the lifetime, between 1 s and a minute: an orphan lives at most a quarter longer.
    var interval: Duration { min(.seconds(60), max(.seconds(1), lifetime / 4)) }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully { break }
            do {
                let removed = try await sweep(now: Date())
                if removed > 0 { logger.info("orphaned attachments removed", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("attachment sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Removes what expired before `now - lifetime`; returns how many.
    @discardableResult
    public func sweep(now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-(lifetime / .seconds(1)))
        var removed = 0
        for id in try await store.expired(before: cutoff) {
            try await store.delete(id)
            removed += 1
        }
        return removed
    }
}
