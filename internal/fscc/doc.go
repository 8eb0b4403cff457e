// Package fscc encodes and decodes the MS-FSCC structures an SMB2 file
// server exchanges with its clients, independent of the server and of
// storage:
//
//   - directory entries for QUERY_DIRECTORY [MS-FSCC 2.4, MS-SMB2 2.2.33]
//     (AppendDirEntry, DirWriter);
//   - file information classes for QUERY_INFO (AppendFileInfo, FitFileInfo)
//     and SET_INFO (DecodeBasic, DecodeRename, ...) [MS-SMB2 2.2.37-2.2.40];
//   - file system information classes [MS-FSCC 2.5] (AppendFSInfo);
//   - self-relative security descriptors [MS-DTYP 2.4.6] (SelfRelativeSD,
//     SDFromMode, ParseSecurityDescriptor);
//   - path and name rules (SplitPath, ValidComponent) and
//     FsRtlIsNameInExpression wildcard matching (Match).
//
// Encoders take plain structs and append to a caller's buffer. Decoders
// check every length before slicing and never panic on hostile input. The
// package holds no mutable state and is safe for concurrent use.
//
// Errors are sentinels the server maps to NTSTATUS codes:
//
//	ErrInvalidInfoClass          STATUS_INVALID_INFO_CLASS
//	ErrInfoLength                STATUS_INFO_LENGTH_MISMATCH
//	ErrInvalidParameter          STATUS_INVALID_PARAMETER
//	ErrInvalidName               STATUS_OBJECT_NAME_INVALID
//	ErrNameTooLong               STATUS_OBJECT_NAME_INVALID (what NTFS returns
//	                             for a component over 255 characters)
//	ErrPathOutsideShare          STATUS_OBJECT_PATH_SYNTAX_BAD (as Samba)
//	ErrStreamsNotSupported       STATUS_OBJECT_NAME_INVALID (as Samba on a
//	                             share without FILE_NAMED_STREAMS)
//	ErrNoShortName               STATUS_OBJECT_NAME_NOT_FOUND
//	ErrInvalidSecurityDescriptor STATUS_INVALID_SECURITY_DESCR
package fscc
