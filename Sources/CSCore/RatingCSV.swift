/// The ratings export (`GET /v1/ratings.csv`): RFC 4180 CSV, UTF-8, CRLF line ends, one header
/// row. Times are ISO 8601 UTC with milliseconds.
///
/// A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
/// so that a spreadsheet never runs a customer's comment as a formula (CSV injection). The same
/// goes for each of those right after a `;`: spreadsheets in locales whose list separator is the
/// semicolon (Excel in much of Europe) split the file there, and the text after it starts a cell.
public enum RatingCSV {
    public static let columns = [
        "conversationId", "closedAt", "ratedAt", "updatedAt", "score", "comment", "agentId", "agentName", "handlers", "team",
        "customerId", "customerName",
    ]

    public static var header: String { columns.joined(separator: ",") + "\r\n" }

    public static func row(_ record: RatingRecord) -> String {
        let cells = [
            text(record.conversationID), timestamp(record.closedAt), timestamp(record.ratedAt), timestamp(record.updatedAt),
            String(record.score), text(record.comment), text(record.agent?.id ?? ""), text(record.agent?.name ?? ""),
            text(record.handlers.joined(separator: " ")), text(record.team), text(record.customer.id), text(record.customer.name),
        ]
        return cells.joined(separator: ",") + "\r\n"
    }

    /// A text cell: neutralised against formulas, quoted when it holds a comma, quote or line break.
    public static func text(_ value: String) -> String {
        let value = neutralised(value)
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return value }
        return "\"" + value.replacingAll("\"", with: "\"\"") + "\""
    }

    /// `value` with a `'` before each formula character that starts it or follows a `;`.
    static func neutralised(_ value: String) -> String {
        let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]
        var result = String.UnicodeScalarView()
        var startsCell = true
        for scalar in value.unicodeScalars {
            if startsCell, formulaStarts.contains(scalar) { result.append("'") }
            startsCell = scalar == ";"
            result.append(scalar)
        }
        return String(result)
    }

    /// `2026-11-27T06:04:34.123Z`.
    public static func timestamp(_ milliseconds: Int) -> String {
        let day = CalendarDay(milliseconds: milliseconds)
        let inDay = milliseconds - day.startMilliseconds
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let seconds = inDay / 1000
        return "\(day)T" + pad(seconds / 3600, 2) + ":" + pad(seconds / 60 % 60, 2) + ":" + pad(seconds % 60, 2) + "." + pad(inDay % 1000, 3) + "Z"
    }
}

extension String {
    /// Replaces every occurrence of `target` (without Foundation).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(utf8.count)
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
