import CSCore
import CSServer
import Hummingbird

extension GatewayContext {
    /// Ratings and live statistics (docs/api.md, "Ratings" and "Live statistics").
    func addRatingRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/v1/conversations/:conversationId/rating") { request, context in
            await Self.answer { try await self.conversationRating(request, conversationID: context.parameters.get("conversationId") ?? "") }
        }
        router.get("/v1/ratings/summary") { request, _ in
            await Self.answer { try await self.ratingSummary(request) }
        }
        router.get("/v1/ratings") { request, _ in
            await Self.answer { try await self.ratingList(request) }
        }
        router.get("/v1/ratings.csv") { request, _ in
            await Self.answer { try await self.ratingExport(request) }
        }
        router.get("/v1/stats/live") { request, _ in
            await Self.answer {
                _ = try await self.supervisorOrAdmin(request, purpose: "stats")
                return Self.json(.ok, try await LiveStats.read(redis: self.redis, now: nowMilliseconds()).render())
            }
        }
    }

    private var ratings: RatingQueries { RatingQueries(redis: redis) }

    private func conversationRating(_ request: Request, conversationID: String) async throws -> Response {
        let caller = try await authenticate(request)
        guard Identifier.isValid(conversationID) else {
            throw ChatError(.invalidField, "conversation id must be 1-64 characters of \(Identifier.alphabetDescription)")
        }
        // A missing conversation is answered like someone else's: ids cannot be probed (docs/api.md).
        let conversation = try await views.conversation(conversationID)
        let allowed =
            switch (caller.role, conversation) {
            case (_, nil): false
            case (.customer, let conversation?): conversation.customer.id == caller.id
            case (.agent, let conversation?): conversation.handlers.contains(caller.id)
            case (.supervisor, _): true
            }
        guard allowed, let conversation else {
            logger.warning("forbidden rating read", metadata: ["user": "\(caller.id)", "conversation": "\(conversationID)"])
            throw ChatError(.forbidden, "not your conversation")
        }
        let record = try await ratings.rating(of: conversationID)
        var json = JSONText(capacity: 512)
        json.raw("{")
        json.field("conversationId", conversationID, first: true)
        json.key("rateUntil")
        json.raw(conversation.rateUntil.map(String.init) ?? "null")
        json.key("rating")
        json.raw(record?.render() ?? "null")
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private func ratingSummary(_ request: Request) async throws -> Response {
        let caller = try await adminOrParticipant(request)
        let query = request.uri.queryParameters
        let by = query.get("by") ?? "agent"
        guard by == "agent" || by == "team" else { throw ChatError(.invalidField, "by must be agent or team") }
        var only: String?
        if let caller, caller.role != .supervisor {
            // Agents read their own summary only; customers none.
            guard caller.role == .agent, by == "agent" else { throw ChatError(.forbidden, "agents read their own summary only (by=agent)") }
            only = caller.id
        }
        let days = try Self.dayRange(query.get("from"), query.get("to"))
        let rows = try await ratings.summary(byAgent: by == "agent", days: days, only: only)
        var total = RatingAggregate()
        if only != nil {
            for row in rows { total.add(row.aggregate) }
        } else {
            total = try await ratings.total(days: days)
        }
        var json = JSONText(capacity: 256 + rows.count * 160)
        json.raw("{")
        json.field("by", by, first: true)
        json.key("from")
        json.raw(days.map { "\"\($0.lowerBound)\"" } ?? "null")
        json.key("to")
        json.raw(days.map { "\"\($0.upperBound)\"" } ?? "null")
        json.key("items")
        json.raw("[")
        for (index, row) in rows.enumerated() {
            var item = JSONText(capacity: 160)
            row.aggregate.render(into: &item)
            json.raw(index == 0 ? "{" : ",{")
            json.field("id", row.id, first: true)
            json.field("name", row.name)
            json.raw("," + item.text.dropFirst())
        }
        json.raw("]")
        json.key("total")
        total.render(into: &json)
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private func ratingList(_ request: Request) async throws -> Response {
        _ = try await supervisorOrAdmin(request, purpose: "ratings")
        let query = request.uri.queryParameters
        let filter = try Self.ratingFilter(query)
        let limit = Int(query.get("limit") ?? "50") ?? 0
        guard (1...200).contains(limit) else { throw ChatError(.invalidField, "limit must be 1...200") }
        var cursor: RatingQueries.Cursor?
        if let text = query.get("cursor") {
            guard let parsed = RatingQueries.Cursor(text) else { throw ChatError(.invalidField, "cursor is not one this API returned") }
            cursor = parsed
        }
        let (records, next) = try await ratings.list(filter, limit: limit, after: cursor)
        var json = JSONText(capacity: 128 + records.count * 400)
        json.raw("{\"items\":[")
        json.raw(records.map { $0.render() }.joined(separator: ","))
        json.raw("]")
        json.key("nextCursor")
        if let next { json.string(next.text) } else { json.raw("null") }
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    /// Largest export; a bigger one must be split by date range.
    static let maxExportRows = 100_000

    private func ratingExport(_ request: Request) async throws -> Response {
        _ = try await supervisorOrAdmin(request, purpose: "ratings export")
        let filter = try Self.ratingFilter(request.uri.queryParameters)
        var csv = RatingCSV.header
        var cursor: RatingQueries.Cursor?
        var rows = 0
        repeat {
            let (records, next) = try await ratings.list(filter, limit: 200, after: cursor)
            for record in records { csv += RatingCSV.row(record) }
            rows += records.count
            cursor = next
        } while cursor != nil && rows < Self.maxExportRows
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"ratings.csv\""],
            body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    private static func ratingFilter(_ query: Parameters) throws -> RatingQueries.Filter {
        var filter = RatingQueries.Filter(days: try dayRange(query.get("from"), query.get("to")))
        if let agent = query.get("agent") {
            guard Identifier.isValid(agent) else { throw ChatError(.invalidField, "agent must be an agent id") }
            filter.agent = agent
        }
        if let team = query.get("team") {
            guard Identifier.isValid(team, maxLength: ClientFrame.Limits.maxSkillLength) else { throw ChatError(.invalidField, "team must be a skill") }
            filter.team = team
        }
        if let scores = query.get("score") {
            let parsed = scores.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0.map { (1...5).contains($0) } ?? false }) else {
                throw ChatError(.invalidField, "score must be a comma-separated list of 1-5")
            }
            filter.scores = Set(parsed.compactMap { $0 })
        }
        return filter
    }

    /// `from`/`to` as UTC days (inclusive); nil when neither is given. `to` defaults to today.
    static func dayRange(_ from: String?, _ to: String?) throws -> ClosedRange<CalendarDay>? {
        guard let from else {
            if to != nil { throw ChatError(.invalidField, "to needs from") }
            return nil
        }
        guard let start = CalendarDay(from) else { throw ChatError(.invalidField, "from must be a date YYYY-MM-DD") }
        let end: CalendarDay
        if let to {
            guard let parsed = CalendarDay(to) else { throw ChatError(.invalidField, "to must be a date YYYY-MM-DD") }
            end = parsed
        } else {
            end = CalendarDay(milliseconds: nowMilliseconds())
        }
        guard start <= end, end.number - start.number < RatingQueries.maxRangeDays else {
            throw ChatError(.invalidField, "from must not be after to, and the range at most \(RatingQueries.maxRangeDays) days")
        }
        return start...end
    }
}
