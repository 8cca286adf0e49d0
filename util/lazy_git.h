/*
 * libgit2, opened when a command first needs it (a document in a
 * repository, push, pull, check's diff) rather than by the dynamic
 * loader at every start: with its dependencies it was a quarter of the
 * start of mdrun.
 */
#ifndef MD_LAZY_GIT_H
#define MD_LAZY_GIT_H

#include <git2.h>

#define MD_GIT2_FNS(X) \
	X(git_blob_create_from_buffer) \
	X(git_blob_create_from_disk) \
	X(git_blob_free) \
	X(git_blob_lookup) \
	X(git_blob_rawcontent) \
	X(git_blob_rawsize) \
	X(git_buf_dispose) \
	X(git_commit_create) \
	X(git_commit_tree) \
	X(git_config_free) \
	X(git_config_iterator_free) \
	X(git_config_iterator_glob_new) \
	X(git_config_next) \
	X(git_credential_ssh_key_from_agent) \
	X(git_credential_username_new) \
	X(git_credential_userpass_plaintext_new) \
	X(git_diff_free) \
	X(git_diff_get_delta) \
	X(git_diff_num_deltas) \
	X(git_diff_options_init) \
	X(git_diff_tree_to_workdir_with_index) \
	X(git_error_last) \
	X(git_error_set_str) \
	X(git_fetch_options_init) \
	X(git_ignore_path_is_ignored) \
	X(git_libgit2_init) \
	X(git_libgit2_shutdown) \
	X(git_object_free) \
	X(git_object_lookup) \
	X(git_object_peel) \
	X(git_odb_free) \
	X(git_odb_read_header) \
	X(git_oid_tostr) \
	X(git_patch_free) \
	X(git_patch_from_buffers) \
	X(git_patch_get_hunk) \
	X(git_patch_get_line_in_hunk) \
	X(git_patch_num_hunks) \
	X(git_patch_to_buf) \
	X(git_push_options_init) \
	X(git_reference_create) \
	X(git_reference_free) \
	X(git_reference_iterator_free) \
	X(git_reference_iterator_glob_new) \
	X(git_reference_name_to_id) \
	X(git_reference_next_name) \
	X(git_remote_connect) \
	X(git_remote_create_anonymous) \
	X(git_remote_disconnect) \
	X(git_remote_fetch) \
	X(git_remote_free) \
	X(git_remote_init_callbacks) \
	X(git_remote_lookup) \
	X(git_remote_ls) \
	X(git_remote_name_is_valid) \
	X(git_remote_push) \
	X(git_remote_pushurl) \
	X(git_remote_url) \
	X(git_repository_config_snapshot) \
	X(git_repository_free) \
	X(git_repository_init) \
	X(git_repository_odb) \
	X(git_repository_open) \
	X(git_repository_open_ext) \
	X(git_repository_workdir) \
	X(git_revparse_single) \
	X(git_signature_free) \
	X(git_signature_new) \
	X(git_status_file) \
	X(git_tree_entry_byindex) \
	X(git_tree_entry_filemode_raw) \
	X(git_tree_entry_id) \
	X(git_tree_entry_name) \
	X(git_tree_entrycount) \
	X(git_tree_free) \
	X(git_tree_lookup) \
	X(git_treebuilder_free) \
	X(git_treebuilder_insert) \
	X(git_treebuilder_new) \
	X(git_treebuilder_write)

/* A pointer to each function, filled by md_git2_load. */
struct md_git2 {
#define MD_LAZY_PTR(f) __typeof__(f) *f;
	MD_GIT2_FNS(MD_LAZY_PTR)
#undef MD_LAZY_PTR
};
extern struct md_git2 md_git2;

/*
 * Loads libgit2 (MD_GIT2_SONAME) once, for every thread: 0, or
 * MD_ERROR with a message saying what is missing.
 */
int md_git2_load(void);
/* md_git2_load, then git_libgit2_init (git_libgit2_shutdown ends it). */
int md_git2_init(void);

/* Callers name the functions as the library's headers do. */
#ifndef MD_GIT2_LOADER
#define git_blob_create_from_buffer md_git2.git_blob_create_from_buffer
#define git_blob_create_from_disk md_git2.git_blob_create_from_disk
#define git_blob_free md_git2.git_blob_free
#define git_blob_lookup md_git2.git_blob_lookup
#define git_blob_rawcontent md_git2.git_blob_rawcontent
#define git_blob_rawsize md_git2.git_blob_rawsize
#define git_buf_dispose md_git2.git_buf_dispose
#define git_commit_create md_git2.git_commit_create
#define git_commit_tree md_git2.git_commit_tree
#define git_config_free md_git2.git_config_free
#define git_config_iterator_free md_git2.git_config_iterator_free
#define git_config_iterator_glob_new md_git2.git_config_iterator_glob_new
#define git_config_next md_git2.git_config_next
#define git_credential_ssh_key_from_agent md_git2.git_credential_ssh_key_from_agent
#define git_credential_username_new md_git2.git_credential_username_new
#define git_credential_userpass_plaintext_new md_git2.git_credential_userpass_plaintext_new
#define git_diff_free md_git2.git_diff_free
#define git_diff_get_delta md_git2.git_diff_get_delta
#define git_diff_num_deltas md_git2.git_diff_num_deltas
#define git_diff_options_init md_git2.git_diff_options_init
#define git_diff_tree_to_workdir_with_index md_git2.git_diff_tree_to_workdir_with_index
#define git_error_last md_git2.git_error_last
#define git_error_set_str md_git2.git_error_set_str
#define git_fetch_options_init md_git2.git_fetch_options_init
#define git_ignore_path_is_ignored md_git2.git_ignore_path_is_ignored
#define git_libgit2_init md_git2.git_libgit2_init
#define git_libgit2_shutdown md_git2.git_libgit2_shutdown
#define git_object_free md_git2.git_object_free
#define git_object_lookup md_git2.git_object_lookup
#define git_object_peel md_git2.git_object_peel
#define git_odb_free md_git2.git_odb_free
#define git_odb_read_header md_git2.git_odb_read_header
#define git_oid_tostr md_git2.git_oid_tostr
#define git_patch_free md_git2.git_patch_free
#define git_patch_from_buffers md_git2.git_patch_from_buffers
#define git_patch_get_hunk md_git2.git_patch_get_hunk
#define git_patch_get_line_in_hunk md_git2.git_patch_get_line_in_hunk
#define git_patch_num_hunks md_git2.git_patch_num_hunks
#define git_patch_to_buf md_git2.git_patch_to_buf
#define git_push_options_init md_git2.git_push_options_init
#define git_reference_create md_git2.git_reference_create
#define git_reference_free md_git2.git_reference_free
#define git_reference_iterator_free md_git2.git_reference_iterator_free
#define git_reference_iterator_glob_new md_git2.git_reference_iterator_glob_new
#define git_reference_name_to_id md_git2.git_reference_name_to_id
#define git_reference_next_name md_git2.git_reference_next_name
#define git_remote_connect md_git2.git_remote_connect
#define git_remote_create_anonymous md_git2.git_remote_create_anonymous
#define git_remote_disconnect md_git2.git_remote_disconnect
#define git_remote_fetch md_git2.git_remote_fetch
#define git_remote_free md_git2.git_remote_free
#define git_remote_init_callbacks md_git2.git_remote_init_callbacks
#define git_remote_lookup md_git2.git_remote_lookup
#define git_remote_ls md_git2.git_remote_ls
#define git_remote_name_is_valid md_git2.git_remote_name_is_valid
#define git_remote_push md_git2.git_remote_push
#define git_remote_pushurl md_git2.git_remote_pushurl
#define git_remote_url md_git2.git_remote_url
#define git_repository_config_snapshot md_git2.git_repository_config_snapshot
#define git_repository_free md_git2.git_repository_free
#define git_repository_init md_git2.git_repository_init
#define git_repository_odb md_git2.git_repository_odb
#define git_repository_open md_git2.git_repository_open
#define git_repository_open_ext md_git2.git_repository_open_ext
#define git_repository_workdir md_git2.git_repository_workdir
#define git_revparse_single md_git2.git_revparse_single
#define git_signature_free md_git2.git_signature_free
#define git_signature_new md_git2.git_signature_new
#define git_status_file md_git2.git_status_file
#define git_tree_entry_byindex md_git2.git_tree_entry_byindex
#define git_tree_entry_filemode_raw md_git2.git_tree_entry_filemode_raw
#define git_tree_entry_id md_git2.git_tree_entry_id
#define git_tree_entry_name md_git2.git_tree_entry_name
#define git_tree_entrycount md_git2.git_tree_entrycount
#define git_tree_free md_git2.git_tree_free
#define git_tree_lookup md_git2.git_tree_lookup
#define git_treebuilder_free md_git2.git_treebuilder_free
#define git_treebuilder_insert md_git2.git_treebuilder_insert
#define git_treebuilder_new md_git2.git_treebuilder_new
#define git_treebuilder_write md_git2.git_treebuilder_write
#endif

#endif
