/// Count, sum and distribution of scores 1–5: what every rating aggregate hash holds
/// (`count`, `sum`, `s1`…`s5`; `avg` and `csat` are derived and stored for redis-cli readers).
public struct RatingAggregate: Sendable, Equatable {
    public var count = 0
    public var sum = 0
    /// Number of ratings with score 1…5 (index 0 = score 1).
    public var distribution = [0, 0, 0, 0, 0]

    public init() {}

    /// Reads an aggregate hash; missing fields count as 0.
    public init(fields: [String: String]) {
        count = fields["count"].flatMap(Int.init) ?? 0
        sum = fields["sum"].flatMap(Int.init) ?? 0
        distribution = (1...5).map { fields["s\($0)"].flatMap(Int.init) ?? 0 }
    }

    public mutating func add(score: Int) {
        guard (1...5).contains(score) else { return }
        count += 1
        sum += score
        distribution[score - 1] += 1
    }

    public mutating func add(_ other: RatingAggregate) {
        count += other.count
        sum += other.sum
        for index in 0..<5 { distribution[index] += other.distribution[index] }
    }

    /// Average score in hundredths (433 = 4.33), rounded half up; nil without ratings.
    public var averageHundredths: Int? { count == 0 ? nil : (sum * 100 * 2 + count) / (count * 2) }
    /// Share of 4 and 5 in tenths of a percent (667 = 66.7 %), rounded half up; nil without ratings.
    public var csatTenths: Int? { count == 0 ? nil : ((distribution[3] + distribution[4]) * 1000 * 2 + count) / (count * 2) }

    /// `{"count":3,"average":4.33,"csat":66.7,"distribution":[0,0,1,0,2]}`; average and csat are
    /// null when there is no rating.
    public func render(into json: inout JSONText) {
        json.raw("{")
        json.field("count", count, first: true)
        json.key("average")
        json.raw(averageHundredths.map { Self.decimal($0, places: 2) } ?? "null")
        json.key("csat")
        json.raw(csatTenths.map { Self.decimal($0, places: 1) } ?? "null")
        json.key("distribution")
        json.raw("[" + distribution.map(String.init).joined(separator: ",") + "]")
        json.raw("}")
    }

    /// `433, places: 2` → `4.33`; `5, places: 2` → `0.05`.
    public static func decimal(_ scaled: Int, places: Int) -> String {
        var unit = 1
        for _ in 0..<places { unit *= 10 }
        let fraction = String(scaled % unit)
        return String(scaled / unit) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
