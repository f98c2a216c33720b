import CSCore
import CSServer
import Synchronization

/// What the reader and the lane runners of one leadership share, behind locks: the plan, the
/// endpoints as last read, and the endpoints' health.
final class DeliveryState: Sendable {
    private let plan = Mutex(DeliveryPlan())
    private let registrations = Mutex<(endpoints: [String: WebhookEndpoint], paused: Set<String>)>(([:], []))
    private let health: Mutex<EndpointHealth>
    private let activeFlag = Atomic<Bool>(true)

    init(pauseAfterMilliseconds: Int) {
        health = Mutex(EndpointHealth(pauseAfterMilliseconds: pauseAfterMilliseconds))
    }

    /// False once the leadership ended: runners stop at their next step.
    var isActive: Bool { activeFlag.load(ordering: .acquiring) }
    func deactivate() { activeFlag.store(false, ordering: .releasing) }

    // MARK: Plan

    func add(entryID: String, event: WebhookEvent, endpointIDs: [String]) -> [DeliveryPlan.Lane] {
        plan.withLock { $0.add(entryID: entryID, event: event, endpointIDs: endpointIDs) }
    }
    func head(of lane: DeliveryPlan.Lane) -> DeliveryPlan.Delivery? { plan.withLock { $0.head(of: lane) } }
    func finishHead(of lane: DeliveryPlan.Lane) -> Bool { plan.withLock { $0.finishHead(of: lane) } }
    func takeFinished() -> [String] { plan.withLock { $0.takeFinished() } }
    var entriesInFlight: Int { plan.withLock { $0.entriesInFlight } }

    // MARK: Endpoints

    /// Replaces the endpoints with the registry's; endpoints whose pause changed start afresh.
    func update(_ entries: [WebhookRegistry.Entry]) {
        let paused = Set(entries.filter(\.status.paused).map(\.endpoint.id))
        let changed = registrations.withLock { current -> Set<String> in
            let changed = current.paused.symmetricDifference(paused)
            current = (Dictionary(uniqueKeysWithValues: entries.map { ($0.endpoint.id, $0.endpoint) }), paused)
            return changed
        }
        health.withLock { health in for id in changed { health.reset(id) } }
    }

    /// Endpoint ids an event goes to: `to` alone (a replay), else every endpoint wanting its type.
    func recipients(of type: WebhookEventType, to: String?) -> [String] {
        registrations.withLock { current in
            if let to { return current.endpoints[to] == nil ? [] : [to] }
            return current.endpoints.values.filter { $0.types.contains(type) }.map(\.id)
        }
    }

    func endpoint(_ id: String) -> WebhookEndpoint? { registrations.withLock { $0.endpoints[id] } }
    func isPaused(_ id: String) -> Bool { registrations.withLock { $0.paused.contains(id) } }
    func markPaused(_ id: String) {
        registrations.withLock { _ = $0.paused.insert(id) }
        health.withLock { $0.reset(id) }
    }

    func succeeded(_ id: String) { health.withLock { $0.succeeded(id) } }
    func failed(_ id: String, now: Int) -> EndpointHealth.Verdict { health.withLock { $0.failed(id, now: now) } }
}
