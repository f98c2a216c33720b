import CSCore

/// Which delivery goes next, and which stream entries are finished (pure; `WebhookDeliverer`
/// keeps one behind a lock).
///
/// A *lane* is one endpoint and one conversation: its deliveries go one at a time, in the
/// order their events were read (the stream's order, which is commit order per conversation),
/// so a conversation's next event waits until the previous one is delivered or dead-lettered,
/// while other lanes (other conversations, other endpoints) go on. A stream entry (one event,
/// for every endpoint that wants it) is finished, and may be acknowledged, when all its
/// deliveries are.
struct DeliveryPlan {
    struct Lane: Hashable, Sendable {
        var endpointID: String
        var conversationID: String
    }

    struct Delivery: Sendable, Equatable {
        var entryID: String
        var endpointID: String
        var event: WebhookEvent
    }

    private var lanes: [Lane: [Delivery]] = [:]
    /// Unfinished deliveries per entry.
    private var outstanding: [String: Int] = [:]
    /// Entries finished, in the order they finished, not yet handed out for acknowledgement.
    private var finished: [String] = []

    /// Entries read and not yet finished.
    var entriesInFlight: Int { outstanding.count }

    /// Adds an entry's deliveries (one per endpoint in `endpointIDs`) at the tail of their lanes.
    /// Returns the lanes that were empty: each needs a runner now. An entry nobody wants is
    /// finished at once. An entry already in flight (read twice) is ignored.
    mutating func add(entryID: String, event: WebhookEvent, endpointIDs: [String]) -> [Lane] {
        guard outstanding[entryID] == nil else { return [] }
        let endpoints = Array(Set(endpointIDs)).sorted()
        guard !endpoints.isEmpty else {
            finished.append(entryID)
            return []
        }
        outstanding[entryID] = endpoints.count
        var started: [Lane] = []
        for endpointID in endpoints {
            let lane = Lane(endpointID: endpointID, conversationID: event.conversationID)
            if lanes[lane] == nil { started.append(lane) }
            lanes[lane, default: []].append(Delivery(entryID: entryID, endpointID: endpointID, event: event))
        }
        return started
    }

    /// The lane's next delivery, or nil when the lane is empty (its runner stops).
    func head(of lane: Lane) -> Delivery? { lanes[lane]?.first }

    /// The lane's head is done (delivered, dead-lettered, or dropped with its endpoint). Returns
    /// whether the lane has more; an empty lane is forgotten.
    mutating func finishHead(of lane: Lane) -> Bool {
        guard var queue = lanes[lane], !queue.isEmpty else { return false }
        let done = queue.removeFirst()
        lanes[lane] = queue.isEmpty ? nil : queue
        if let left = outstanding[done.entryID] {
            if left <= 1 {
                outstanding[done.entryID] = nil
                finished.append(done.entryID)
            } else {
                outstanding[done.entryID] = left - 1
            }
        }
        return !queue.isEmpty
    }

    /// Hands out the finished entries (to acknowledge) and forgets them.
    mutating func takeFinished() -> [String] {
        defer { finished.removeAll(keepingCapacity: true) }
        return finished
    }
}
