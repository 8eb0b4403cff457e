package ntstatus

// Status codes of extended attributes [MS-ERREF 2.3.1], kept apart from
// the main table so that features add codes without touching it.
const (
	NoMoreEas          Status = 0x80000012
	InvalidEaName      Status = 0x80000013
	EaListInconsistent Status = 0x80000014
	EasNotSupported    Status = 0xC000004F
	EaCorruptError     Status = 0xC0000053
)

func init() {
	names[NoMoreEas] = "STATUS_NO_MORE_EAS"
	names[InvalidEaName] = "STATUS_INVALID_EA_NAME"
	names[EaListInconsistent] = "STATUS_EA_LIST_INCONSISTENT"
	names[EasNotSupported] = "STATUS_EAS_NOT_SUPPORTED"
	names[EaCorruptError] = "STATUS_EA_CORRUPT_ERROR"
}
