import CSCore
import Testing

/// Ratings: the `rate` frame, its inbound entry, the rules and the pure aggregate, day and CSV code.
@Suite("Ratings")
struct RatingTests {
    static let ann = Participant(id: "v_ann", role: .customer, name: "Ann")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")

    static var closed: ConversationState {
        var state = ConversationState(id: "v_ann.c1", customer: ann, agent: alice, status: .closed, skill: "billing")
        state.closedAt = 1_000
        state.rateUntil = 5_000
        state.handlers = ["bob", "alice"]
        return state
    }

    static func rateEntry(user: String = "v_ann", role: ParticipantRole = .customer, score: Int = 4) -> InboundEntry {
        var entry = InboundEntry(kind: .rate, userID: user, role: role, userName: "Ann", clientMessageID: "r-1", conversationID: "v_ann.c1")
        entry.score = score
        entry.comment = "quick, thanks"
        return entry
    }

    @Test func rateFrameDecodes() throws {
        let frame = try ClientFrame.decode(#"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":5,"comment":"great"}"#.utf8)
        #expect(frame == .rate(id: "r-1", conversationID: "v_ann.c1", score: 5, comment: "great"))
        let bare = try ClientFrame.decode(#"{"type":"rate","id":"r-2","conversationId":"v_ann.c1","score":1,"comment":""}"#.utf8)
        #expect(bare == .rate(id: "r-2", conversationID: "v_ann.c1", score: 1, comment: nil))
    }

    @Test(arguments: [
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":0}"#,
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":6}"#,
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":"5"}"#,
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":4.5}"#,
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1"}"#,
        #"{"type":"rate","conversationId":"v_ann.c1","score":3}"#,
        #"{"type":"rate","id":"r-1","score":3}"#,
        #"{"type":"rate","id":"r-1","conversationId":"v_ann.c1","score":3,"comment":42}"#,
    ])
    func invalidRateFramesAreRefused(_ text: String) {
        #expect(throws: ChatError.self) { try ClientFrame.decode(text.utf8) }
        do {
            _ = try ClientFrame.decode(text.utf8)
        } catch {
            #expect(error.code == .invalidField, "\(text): \(error)")
        }
    }

    @Test func commentLengthIsLimited() throws {
        let longest = String(repeating: "é", count: ClientFrame.Limits.maxCommentCharacters)
        _ = try ClientFrame.decode(#"{"type":"rate","id":"r","conversationId":"c","score":3,"comment":"\#(longest)"}"#.utf8)
        #expect(throws: ChatError(.invalidField, "comment must be at most 1000 characters")) {
            try ClientFrame.decode(#"{"type":"rate","id":"r","conversationId":"c","score":3,"comment":"\#(longest)x"}"#.utf8)
        }
    }

    @Test func rateEntryRoundTrips() {
        let entry = Self.rateEntry()
        let fields = Dictionary(entry.fields, uniquingKeysWith: { $1 })
        #expect(fields["k"] == "rate" && fields["sc"] == "4" && fields["cm"] == "quick, thanks")
        #expect(InboundEntry(fields: fields) == entry)
        var missingScore = fields
        missingScore["sc"] = nil
        #expect(InboundEntry(fields: missingScore) == nil)
        missingScore["sc"] = "9"
        #expect(InboundEntry(fields: missingScore) == nil)
    }

    @Test func onlyTheCustomerRatesAClosedConversationWithinTheWindow() {
        #expect(ConversationRules.decide(Self.rateEntry(), conversation: Self.closed, acceptedAt: 5_000) == .rate(Self.closed))
        func code(_ decision: ConversationDecision) -> ChatError.Code? {
            if case .reject(let error) = decision { return error.code }
            return nil
        }
        #expect(code(ConversationRules.decide(Self.rateEntry(), conversation: Self.closed, acceptedAt: 5_001)) == .ratingFinal)
        #expect(code(ConversationRules.decide(Self.rateEntry(), conversation: nil, acceptedAt: 2_000)) == .forbidden)
        #expect(code(ConversationRules.decide(Self.rateEntry(user: "v_bob"), conversation: Self.closed, acceptedAt: 2_000)) == .forbidden)
        #expect(code(ConversationRules.decide(Self.rateEntry(user: "alice", role: .agent), conversation: Self.closed, acceptedAt: 2_000)) == .forbidden)
        #expect(code(ConversationRules.decide(Self.rateEntry(user: "sam", role: .supervisor), conversation: Self.closed, acceptedAt: 2_000)) == .forbidden)
        var open = Self.closed
        open.status = .assigned
        #expect(code(ConversationRules.decide(Self.rateEntry(), conversation: open, acceptedAt: 2_000)) == .conversationOpen)
        var legacy = Self.closed
        legacy.rateUntil = nil
        #expect(code(ConversationRules.decide(Self.rateEntry(), conversation: legacy, acceptedAt: 2_000)) == .ratingFinal)
    }

    @Test func conversationStateKeepsHandlersAndTimes() {
        var state = Self.closed
        state.addHandler("alice")
        state.addHandler("carl")
        #expect(state.handlers == ["bob", "alice", "carl"])
        let fields = Dictionary(state.fields, uniquingKeysWith: { $1 })
        #expect(fields["handlers"] == "bob,alice,carl" && fields["closedAt"] == "1000" && fields["rateUntil"] == "5000")
        #expect(ConversationState(id: state.id, fields: fields) == state)
    }

    @Test func aggregateAveragesAndCSAT() {
        var aggregate = RatingAggregate()
        #expect(aggregate.averageHundredths == nil && aggregate.csatTenths == nil)
        for score in [5, 4, 3] { aggregate.add(score: score) }
        #expect(aggregate.count == 3 && aggregate.sum == 12 && aggregate.distribution == [0, 0, 1, 1, 1])
        #expect(aggregate.averageHundredths == 400 && aggregate.csatTenths == 667)
        aggregate.add(score: 1)
        #expect(aggregate.averageHundredths == 325 && aggregate.csatTenths == 500)
        var json = JSONText()
        aggregate.render(into: &json)
        #expect(json.text == #"{"count":4,"average":3.25,"csat":50.0,"distribution":[1,0,1,1,1]}"#)
        let fromHash = RatingAggregate(fields: ["count": "4", "sum": "13", "s1": "1", "s3": "1", "s4": "1", "s5": "1", "avg": "3.25"])
        #expect(fromHash == aggregate)
        #expect(RatingAggregate.decimal(5, places: 2) == "0.05" && RatingAggregate.decimal(1000, places: 1) == "100.0")
    }

    @Test func calendarDays() throws {
        #expect(CalendarDay(milliseconds: 0).description == "1970-01-01")
        #expect(CalendarDay(milliseconds: 1_795_737_599_999).description == "2026-11-26")
        #expect(CalendarDay(milliseconds: 1_795_737_600_000).description == "2026-11-27")
        #expect(CalendarDay(milliseconds: -1).description == "1969-12-31")
        #expect(CalendarDay("2024-02-29")?.description == "2024-02-29")
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-32", "", "2026-01-01x", "２０２６-01-01"] {
            #expect(CalendarDay(bad) == nil, "\(bad)")
        }
        // Years 0001-9999.
        for number in stride(from: -719_162, through: 2_932_896, by: 997) {
            let day = CalendarDay(number: number)
            #expect(CalendarDay(day.description) == day, "\(day)")
        }
        let day = try #require(CalendarDay("2026-11-27"))
        #expect(CalendarDay(milliseconds: day.startMilliseconds) == day && day.adding(days: 5).description == "2026-12-02")
    }

    @Test func csvQuotesAndNeutralisesFormulas() {
        let record = RatingRecord(
            conversationID: "v_ann.c1", score: 2, comment: "=HYPERLINK(\"x\"), and\nmore", ratedAt: 1_795_737_600_123,
            updatedAt: 1_795_737_660_000, closedAt: 1_795_737_599_999, agent: Self.alice, handlers: ["bob", "alice"], team: "billing",
            customer: Participant(id: "v_ann", role: .customer, name: "-Ann, \"A\""))
        #expect(RatingCSV.header == "conversationId,closedAt,ratedAt,updatedAt,score,comment,agentId,agentName,handlers,team,customerId,customerName\r\n")
        #expect(RatingCSV.row(record) == "v_ann.c1,2026-11-26T23:59:59.999Z,2026-11-27T00:00:00.123Z,2026-11-27T00:01:00.000Z,2,"
            + "\"'=HYPERLINK(\"\"x\"\"), and\nmore\",alice,Alice,bob alice,billing,v_ann,\"'-Ann, \"\"A\"\"\"\r\n")
    }

    /// Spreadsheets that split on `;` (semicolon locales) start a cell after each one: a formula
    /// there must be neutralised too.
    @Test func csvNeutralisesFormulasAfterSemicolons() {
        #expect(RatingCSV.text("fine;=HYPERLINK(\"x\")") == "\"fine;'=HYPERLINK(\"\"x\"\")\"")
        #expect(RatingCSV.text("a;+1;-2;@SUM(A1);b") == "a;'+1;'-2;'@SUM(A1);b")
        #expect(RatingCSV.text("=1;=2") == "'=1;'=2")
        #expect(RatingCSV.text("a;\tb") == "a;'\tb")
        #expect(RatingCSV.text("a; =1") == "a; =1", "a cell starting with a space is text")
        #expect(RatingCSV.text("a-b;c=d") == "a-b;c=d", "formula characters inside a cell are harmless")
        #expect(RatingCSV.text(";;") == ";;")
    }

    @Test func ratingRecordRoundTripsAndRenders() {
        let fields = [
            "score": "5", "comment": "ok", "ratedAt": "10", "updatedAt": "20", "closedAt": "5", "agent": "", "agentName": "",
            "handlers": "", "team": "default", "customer": "v_ann", "customerName": "Ann",
        ]
        let record = RatingRecord(conversationID: "v_ann.c1", fields: fields)
        #expect(record?.agent == nil && record?.handlers == [] && record?.score == 5)
        #expect(record?.render(id: "r-1", rateUntil: 99) == #"{"type":"rating","id":"r-1","conversationId":"v_ann.c1","score":5,"comment":"ok","ratedAt":10,"updatedAt":20,"rateUntil":99,"closedAt":5,"agent":null,"handlers":[],"team":"default","customer":{"id":"v_ann","name":"Ann"}}"#)
        #expect(RatingRecord(conversationID: "x", fields: ["score": "0", "customer": "v"]) == nil)
    }
}
