// Generated from openapi.yaml by scripts/build-api-types.mjs (openapi-typescript). Do not edit:
// change openapi.yaml and run `npm run build:api-types`.
export interface paths {
    "/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account and sign in
         * @description Creates the account and a session; the session cookie is set and the token is also in the body, for clients that send `Authorization: Bearer`. Sign-ups are limited per client address before the body is read.
         */
        post: operations["register"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in with a username or e-mail and the password
         * @description Takes the username or the e-mail (case-insensitive) and the password, and starts a session like register. Failed attempts are throttled per account and per address (see 429).
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign out
         * @description Revokes the session: its token stops working on HTTP and WebSocket, and the session's open
         *     WebSockets are closed with code 4001. Clears the cookie. No body is needed. Idempotent: without
         *     a valid session it still answers 204.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The signed-in user
         * @description The account of the session that made the request.
         */
        get: operations["me"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/rooms": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The rooms the caller may see, and how many users are in each
         * @description The public rooms (the configured ones first, the default room first of all, then those people made,
         *     oldest first) and the caller's own private rooms and conversations, each as the caller sees it:
         *     a conversation is named after the other person (`with`). A private room or a conversation the
         *     caller does not belong to is not listed, as if it did not exist. `members` counts the distinct users
         *     present now, on any server; `member` says whether the caller belongs to the room, and `unread` how
         *     many of its messages they have not read (at most 500; 0 for a room they are not a member of and for
         *     the room they are in). The same list comes in the WebSocket `welcome`.
         */
        get: operations["rooms"];
        put?: never;
        /**
         * Make a room
         * @description Makes a room owned by the caller, who becomes its first member. A `public` room is listed to
         *     everyone and announced to every connection (`room_added`); a `private` one is listed to, and may
         *     be entered by, its members only, whom its owner adds. The name is 1-80 characters, the topic 0-250
         *     on one line (empty: none), both under the text rules (NFC; no control, bidirectional or invisible
         *     characters, private-use, unassigned or noncharacter code points; no combining mark without a letter
         *     under it, at most 4 on one letter; a variation selector only where it selects an emoji or an
         *     ideograph's form; no surrounding spaces). At most `ROOM_CREATE_PER_DAY` (default 10) rooms per user in
         *     any 24 hours, archived ones included.
         */
        post: operations["createRoom"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/rooms/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Archive a room
         * @description The owner archives the room: its history stays readable to whoever may enter it, but it takes no
         *     new message (`error` `room_archived`), name, topic or member. Everyone who may see it gets
         *     `room_updated` with `archived: true`. Archiving again answers the same and tells nobody.
         */
        delete: operations["archiveRoom"];
        options?: never;
        head?: never;
        /**
         * Rename a room or change its topic
         * @description The owner renames the room or changes its topic (`topic: null` or `''` removes it); a field left
         *     out stays as it is. Everyone who may see the room gets `room_updated`; a request that changes
         *     nothing answers the room and tells nobody. The configured rooms and conversations have no owner.
         */
        patch: operations["changeRoom"];
        trace?: never;
    };
    "/rooms/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Add a member to a private room
         * @description The owner of a private room adds a user by username (compared regardless of case). The user's
         *     connections get `room_added`; the room is in their lists from now on and they may enter it. At
         *     most `ROOM_MAX_MEMBERS` (default 1000) members, the owner included; at most `INVITE_RATE`
         *     (default 30) additions per user per minute, every attempt counted, across every server.
         */
        post: operations["addMember"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/rooms/{id}/members/{username}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
                /**
                 * @description The member's username (compared regardless of case); the caller's own to leave.
                 * @example bia
                 */
                username: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Leave a room, or remove a member from a private room
         * @description Anyone ends their own membership (of a public room too: it stops counting for them); the owner
         *     cannot (archive the room instead), and nobody leaves a conversation. The owner of a private room
         *     removes a member. The member's connections get `room_removed`, and one in the room is moved out of
         *     it: everyone there gets `user_left` with reason `removed`. A private room is then, to them, a room
         *     that does not exist.
         */
        delete: operations["removeMember"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/dms/{username}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The other person's username (compared regardless of case).
                 * @example bia
                 */
                username: string;
            };
            cookie?: never;
        };
        get?: never;
        /**
         * The caller's conversation with another user
         * @description The direct conversation between the caller and this user, made the first time either asks (the
         *     same room from either side, however two first asks race across servers): a room of exactly the
         *     two, with no owner, listed and entered by them only, named for each after the other person. Both
         *     users' connections get `room_added` when it is made. Its id starts with `dm-`.
         */
        put: operations["openConversation"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The process is alive
         * @description Answers as long as the process runs; it checks nothing else (see `/ready`).
         */
        get: operations["health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The instance can serve (for load balancers)
         * @description A one-row write commits in the database (lock wait 1 s, deadline 2 s) and the upload folder takes
         *     and loses a small file; nothing is left behind either way. 503 takes the instance out of rotation
         *     until both work again. The answer is public: `details` say what is wrong ("the upload folder is on
         *     a full disk", "the database file is gone (deleted or replaced since start)") without server paths
         *     or engine messages; those go to the `not ready` log line, once per change. With several processes
         *     (`REDIS_URL`), an instance whose link to the others has been down for 5 s is not ready either
         *     (`cluster`): its users keep chatting among themselves, new ones belong on a linked instance.
         */
        get: operations["ready"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The web client (a chat page for people)
         * @description Served with a strict CSP (scripts and styles from this origin only) and revalidated on every load.
         */
        get: operations["webClient"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/assets/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A script or stylesheet of the web client
         * @description Names carry a hash of their content, so they are cached for ever (`immutable`).
         */
        get: operations["webClientAsset"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This API, rendered with Redoc (works offline)
         * @description The page is built by `npm run build` from this document with Redocly CLI; it loads nothing from other hosts and runs under a strict CSP.
         */
        get: operations["docs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs/asyncapi": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The WebSocket protocol (asyncapi.yaml), as a readable page
         * @description Rendered by the server from `asyncapi.yaml`, with no script.
         */
        get: operations["asyncapiDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.yaml": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * This document
         * @description The OpenAPI 3.1 document of this API, as served to tools.
         */
        get: operations["openapiSpec"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/asyncapi.yaml": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The WebSocket protocol's AsyncAPI document
         * @description The AsyncAPI 3 document of the WebSocket protocol, as served to tools.
         */
        get: operations["asyncapiSpec"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/uploads": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload files to attach to messages
         * @description One or more file parts (any field name; `files` by convention). Files are streamed to disk,
         *     never held in memory whole; a file appears only once it is complete. Each is stored under a
         *     random name (128 bits) and served at the returned `url`; send that `url` in a WebSocket
         *     `message`'s `attachments` to share it. The type is taken from the file's first bytes where they
         *     decide it. Limits: `MAX_FILE_BYTES` per file (default 25 MiB), `MAX_FILES` per request (default
         *     10), 20 small form fields. When any limit is passed, or the upload fails, no file of the request
         *     is kept.
         */
        post: operations["upload"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/static/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The name from an upload's `url`. */
                name: string;
            };
            cookie?: never;
        };
        /**
         * An uploaded file
         * @description Public to whoever has the link (the name is 128 random bits). Raster images (png, jpeg, gif,
         *     webp), plain text, PDF, audio and video are served `inline`; everything else (HTML, SVG, scripts,
         *     unknown) as an `attachment` with `Content-Security-Policy: sandbox`. Always
         *     `X-Content-Type-Options: nosniff`. Cached for ever (`immutable`; the name is the strong `ETag`).
         *     A single `Range` (`bytes=a-b`, `bytes=a-` or `bytes=-n`) is answered with 206 for seeking in audio
         *     and video; `If-Range` with anything but the current `ETag` gets the whole file. Several ranges, a
         *     header that is not a byte range, or an invalid range (`bytes=5-2`, last before first) get the whole
         *     file (200), as RFC 9110 says.
         */
        get: operations["download"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /**
         * An uploaded file's headers
         * @description As `GET`, with the same statuses and headers and no body.
         */
        head: operations["downloadHead"];
        patch?: never;
        trace?: never;
    };
    "/ws": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The chat WebSocket (see asyncapi.yaml)
         * @description Upgrade to a WebSocket, with a session (cookie or Bearer) or with no credentials at all: then the
         *     first frame must be `{"type":"auth","token":"..."}` within 5 s (else close 4001), which lets a page
         *     on another origin connect without headers or cookies. Cookie-authenticated upgrades must come from
         *     the server's own Origin (or one in `ALLOWED_ORIGINS`). A page on another origin of the same site
         *     (`app.example.com` beside `chat.example.com`, or another port of `localhost`) gets the session cookie
         *     sent along by the browser whether it wants it or not: list its origin in `ALLOWED_ORIGINS`, or its
         *     upgrade is refused 403 even when it meant to sign in by its first frame. Offer the subprotocol
         *     `sala.v2` (protocol version 2: members by page, arrivals and departures gathered), `sala.v1`
         *     (version 1), both (`sala.v2` is chosen), or none (version 1).
         *     The protocol is in `asyncapi.yaml`. A refused upgrade is a plain HTTP answer with a JSON error and
         *     no socket.
         */
        get: operations["websocket"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        RegisterRequest: {
            /** @description Shown to others; no surrounding spaces. */
            name: string;
            /** @description Unique regardless of case. */
            username: string;
            /**
             * Format: email
             * @description Unique regardless of case.
             */
            email: string;
            /** @description 8-72 bytes in UTF-8 (bcrypt reads at most 72). */
            password: string;
        };
        LoginRequest: {
            /** @description The username or the e-mail. */
            username: string;
            password: string;
        };
        Account: {
            username: string;
            name: string;
            email: string;
            /** Format: date-time */
            createdAt: string;
        };
        SignedIn: {
            user: components["schemas"]["Account"];
            /** @description The session token, also usable as `Authorization: Bearer`. */
            token: string;
        };
        Attachment: {
            /** @description `/static/<name>`, relative to the server. */
            url: string;
            /** @description The original file name, sanitized. */
            name: string;
            /** @description The media type the file is served with. */
            type: string;
            size: number;
        };
        /** @description A room as the caller sees it (the same in `GET /rooms`, every room route's answer and the WebSocket frames). */
        Room: {
            id: string;
            /** @description The room's name; for a conversation, the other person's name. */
            name: string;
            /** @description Distinct users present now, on any server. */
            members: number;
            /** @description Messages after the caller's read marker, at most 500 (show "500+"); 0 for a room they are not a member of and for the room they are in. Live changes come as the WebSocket `unread` frame. */
            unread: number;
            /** @description Whether the caller is a member (counts unread there): a private room or conversation always; a public room once entered, until they leave its membership (`DELETE /rooms/{id}/members/{username}`). */
            member: boolean;
            /**
             * @description `public`: listed to and entered by everyone; `private`: by its members only; `direct`: a conversation of two.
             * @enum {string}
             */
            visibility: "public" | "private" | "direct";
            /** @description Absent when there is none. */
            topic?: string;
            /** @description The username of who made it and manages it; absent for the configured rooms and conversations. */
            owner?: string;
            /**
             * @description Present when archived: history readable, no new messages.
             * @constant
             */
            archived?: true;
            with?: components["schemas"]["PublicUser"];
        };
        /** @description A user as others see them; in a room, `with` is a conversation's other person. */
        PublicUser: {
            username: string;
            name: string;
        };
        CreateRoomRequest: {
            /** @description 1-80 characters once in NFC, under the text rules (see POST /rooms): no control, bidirectional, invisible or private-use characters, no stacked or stray combining marks, no surrounding spaces. */
            name: string;
            /** @enum {string} */
            visibility: "public" | "private";
            /** @description At most 250 characters on one line, under the same rules; empty is none. */
            topic?: string;
        };
        UpdateRoomRequest: {
            /** @description As in `CreateRoomRequest`. */
            name?: string;
            /** @description As in `CreateRoomRequest`; `null` or empty removes the topic. */
            topic?: string | null;
        };
        AddMemberRequest: {
            /** @description Compared regardless of case. */
            username: string;
        };
        MemberAnswer: {
            user: components["schemas"]["PublicUser"];
        };
        /** @description One entry per bad field. */
        FieldProblems: {
            /** @description The field, e.g. "username"; empty for the whole body. */
            path: string;
            message: string;
        }[];
        /** @description 400: the JSON body is malformed or has invalid fields. */
        BadBodyError: {
            error: {
                /** @enum {string} */
                code: "validation_failed" | "malformed_json";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 400: the JSON body is malformed or has invalid fields, or a path parameter has a malformed percent escape. */
        BadBodyOrPathError: {
            error: {
                /** @enum {string} */
                code: "validation_failed" | "malformed_json" | "malformed_path";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 400: a path parameter has a malformed percent escape. */
        MalformedPathError: {
            error: {
                /** @enum {string} */
                code: "malformed_path";
                /** @description A sentence for people; may change. */
                message: string;
            };
        };
        /** @description 400: none of the offered WebSocket subprotocols is spoken here. */
        UnsupportedProtocolError: {
            error: {
                /** @enum {string} */
                code: "unsupported_protocol" | "bad_handshake";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 400: the multipart body has no usable file. */
        UploadRefusedError: {
            error: {
                /** @enum {string} */
                code: "no_files" | "empty_file" | "malformed_multipart" | "upload_aborted";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 401: no valid session. */
        UnauthenticatedError: {
            error: {
                /** @enum {string} */
                code: "unauthenticated";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 401: unknown user or wrong password. */
        InvalidCredentialsError: {
            error: {
                /** @enum {string} */
                code: "invalid_credentials";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 403: a foreign or missing Origin. */
        ForbiddenOriginError: {
            error: {
                /** @enum {string} */
                code: "forbidden_origin";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 404: nothing there. */
        NotFoundError: {
            error: {
                /** @enum {string} */
                code: "not_found";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 409: the username or the e-mail is taken. */
        AccountTakenError: {
            error: {
                /** @enum {string} */
                code: "username_taken" | "email_taken";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 413: the JSON body is too large. */
        PayloadTooLargeError: {
            error: {
                /** @enum {string} */
                code: "payload_too_large";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 413: a file, the number of parts, or the quota is passed. */
        UploadTooLargeError: {
            error: {
                /** @enum {string} */
                code: "payload_too_large" | "quota_exceeded";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 415: the body has the wrong type. */
        UnsupportedMediaTypeError: {
            error: {
                /** @enum {string} */
                code: "unsupported_media_type";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 416: the range starts past the end of the file. */
        RangeNotSatisfiableError: {
            error: {
                /** @enum {string} */
                code: "range_not_satisfiable";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 426: a plain request to the WebSocket endpoint. */
        UpgradeRequiredError: {
            error: {
                /** @enum {string} */
                code: "upgrade_required";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many sign-ups from this address. */
        TooManySignUpsError: {
            error: {
                /** @enum {string} */
                code: "too_many_sign_ups";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many failed sign-ins. */
        TooManyAttemptsError: {
            error: {
                /** @enum {string} */
                code: "too_many_attempts";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 403: not the room's owner, or a foreign Origin. */
        RoomForbiddenError: {
            error: {
                /** @enum {string} */
                code: "not_owner" | "forbidden_origin";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 404: no such room (or none the caller may see). */
        UnknownRoomError: {
            error: {
                /** @enum {string} */
                code: "unknown_room";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 404: nobody else has that username. */
        UnknownUserError: {
            error: {
                /** @enum {string} */
                code: "unknown_user";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 404: no such room, or no such user. */
        MemberNotFoundError: {
            error: {
                /** @enum {string} */
                code: "unknown_room" | "unknown_user";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 404: no such room, or no such member. */
        RemovalNotFoundError: {
            error: {
                /** @enum {string} */
                code: "unknown_room" | "not_a_member";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 409: the room is archived. */
        RoomArchivedError: {
            error: {
                /** @enum {string} */
                code: "room_archived";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 409: not a private room, full, or archived. */
        InvitationConflictError: {
            error: {
                /** @enum {string} */
                code: "not_private" | "room_full" | "room_archived";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 409: the owner, a conversation, or a room others are not removed from. */
        RemovalConflictError: {
            error: {
                /** @enum {string} */
                code: "owner_cannot_leave" | "direct_conversation" | "not_private";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many rooms made in a day. */
        TooManyRoomsError: {
            error: {
                /** @enum {string} */
                code: "too_many_rooms";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many members added in a minute. */
        TooManyInvitationsError: {
            error: {
                /** @enum {string} */
                code: "too_many_invitations";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many uploads at once or per minute. */
        UploadRateError: {
            error: {
                /** @enum {string} */
                code: "too_many_uploads" | "rate_limited";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 429: too many WebSockets from this address. */
        TooManyConnectionsError: {
            error: {
                /** @enum {string} */
                code: "too_many_connections";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 500: the storage takes no write, or something else failed. */
        StoreFailedError: {
            error: {
                /** @enum {string} */
                code: "internal_error" | "storage_failed";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503: the database is locked by another process. */
        StorageBusyError: {
            error: {
                /** @enum {string} */
                code: "storage_busy";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503: too many passwords waiting to be hashed, or the database is locked. */
        BusyError: {
            error: {
                /** @enum {string} */
                code: "busy" | "storage_busy";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503: the database or the upload folder does not work. */
        NotReadyError: {
            error: {
                /** @enum {string} */
                code: "not_ready";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503: the web client is not built. */
        ClientNotBuiltError: {
            error: {
                /** @enum {string} */
                code: "client_not_built";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503: the docs page is not built. */
        DocsNotBuiltError: {
            error: {
                /** @enum {string} */
                code: "docs_not_built";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 503 on the upgrade: the server is shutting down, or its storage is busy. */
        UpgradeUnavailableError: {
            error: {
                /** @enum {string} */
                code: "shutting_down" | "storage_busy";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
        /** @description 507: no room on the disk (uploads or database). */
        StorageFullError: {
            error: {
                /** @enum {string} */
                code: "storage_full";
                /** @description A sentence for people; may change. */
                message: string;
                details?: components["schemas"]["FieldProblems"];
            };
        };
    };
    responses: {
        /** @description No such room, or a private room or conversation the caller does not belong to, which is answered exactly as one that does not exist. */
        UnknownRoom: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["UnknownRoomError"];
            };
        };
        /** @description `not_owner`: a room the caller may see but does not own (the configured rooms and conversations have no owner); `forbidden_origin`: a cookie-authenticated request from a foreign or missing Origin. */
        NotOwner: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["RoomForbiddenError"];
            };
        };
        /** @description `validation_failed`: some fields are not valid, `details` has one entry per field; `malformed_json`: the body is not JSON. */
        ValidationFailed: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["BadBodyError"];
            };
        };
        /** @description `malformed_path`: a path parameter has a malformed percent escape (`%E0%A4%A`). */
        MalformedPath: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["MalformedPathError"];
            };
        };
        /** @description `validation_failed` / `malformed_json`: the body, as for every JSON route; `malformed_path`: a path parameter has a malformed percent escape. */
        BadBodyOrPath: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["BadBodyOrPathError"];
            };
        };
        /**
         * @description `busy`: too many passwords are already waiting to be hashed. Sign-ins are served before sign-ups and
         *     each has its own bounded queue, so a flood of sign-ups fills only its own. `storage_busy`: another
         *     process holds the database's lock. Either way, come back after `Retry-After`.
         */
        HashingBusy: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["BusyError"];
            };
        };
        /** @description No valid session (missing, expired, revoked or tampered token). */
        Unauthenticated: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["UnauthenticatedError"];
            };
        };
        /** @description A cookie-authenticated request (or a login/registration) from a foreign or missing Origin. */
        ForbiddenOrigin: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ForbiddenOriginError"];
            };
        };
        /** @description The body is larger than 16 KiB. */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["PayloadTooLargeError"];
            };
        };
        /** @description The body is not `application/json`. */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["UnsupportedMediaTypeError"];
            };
        };
        /**
         * @description `storage_failed`: the server cannot write to its storage (read-only or not permitted), which its
         *     operator must fix; `internal_error`: anything else failed. Nothing was changed that the client
         *     cannot retry.
         */
        StoreFailed: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["StoreFailedError"];
            };
        };
        /** @description Another process holds the database's lock; try again after `Retry-After`. */
        StorageBusy: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["StorageBusyError"];
            };
        };
        /** @description The server's disk (or its quota there) is full; nothing was stored. Worth retrying once the operator makes room. */
        StorageFull: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["StorageFullError"];
            };
        };
    };
    parameters: {
        /**
         * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
         * @example r-u7c2w5n8e3ra
         */
        RoomIdPath: string;
        /**
         * @description One byte range; several ranges are answered with the whole file.
         * @example bytes=0-1023
         */
        Range: string;
        /** @description The `ETag` the client holds; the range is served only if it still matches. */
        IfRange: string;
        /** @description An `ETag` the client has cached; 304 when it matches. */
        IfNoneMatch: string;
    };
    requestBodies: never;
    headers: {
        /** @description Whole seconds to wait before trying again. */
        RetryAfter: number;
        /** @description `sala_session=<token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=<SESSION_TTL>` (and `Secure` when `COOKIE_SECURE=true`). */
        SetSessionCookie: string;
        /** @description `inline` or `attachment`, with the original name (RFC 6266: `filename` and `filename*=UTF-8''…`). */
        ContentDisposition: string;
        /** @description The file's strong validator, its name in quotes. */
        ETag: string;
        /** @description Names never change content, so files are cached for ever. */
        CacheForever: string;
        /** @description Bytes in the body (of the whole file, or of the range). */
        ContentLength: number;
        /** @description `bytes <first>-<last>/<size>`, inclusive offsets. */
        ContentRange: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    register: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description Registered and signed in; the session cookie is set. */
            201: {
                headers: {
                    "Set-Cookie": components["headers"]["SetSessionCookie"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignedIn"];
                };
            };
            400: components["responses"]["ValidationFailed"];
            403: components["responses"]["ForbiddenOrigin"];
            /** @description The username or the e-mail is taken (compared case-insensitively). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccountTakenError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /**
             * @description Too many sign-ups from this client address (`REGISTER_RATE` per hour, default 20), answered
             *     before the body is read. The address is the socket's, or with `TRUST_PROXY` the one the
             *     trusted proxy saw.
             */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TooManySignUpsError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["HashingBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Signed in; the session cookie is set. */
            200: {
                headers: {
                    "Set-Cookie": components["headers"]["SetSessionCookie"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SignedIn"];
                };
            };
            400: components["responses"]["ValidationFailed"];
            /** @description Unknown user or wrong password - the same answer for both. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvalidCredentialsError"];
                };
            };
            403: components["responses"]["ForbiddenOrigin"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /**
             * @description Too many failed sign-ins, checked before the password so the answer says nothing about it:
             *     on this account from this address (after 10 failures, waits doubling from one second up to
             *     15 minutes; the username and the e-mail of one account count together), on this account from
             *     all addresses together (100 failures in an hour), or from this address across accounts (100
             *     failures in 10 minutes). Failures from one address never lock the account for another.
             */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TooManyAttemptsError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["HashingBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Signed out. */
            204: {
                headers: {
                    /** @description Clears the cookie - `sala_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`. */
                    "Set-Cookie"?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: components["responses"]["ForbiddenOrigin"];
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    me: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The account. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        user: components["schemas"]["Account"];
                    };
                };
            };
            401: components["responses"]["Unauthenticated"];
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    rooms: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every room the caller may see, the default one first. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"][];
                };
            };
            401: components["responses"]["Unauthenticated"];
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    createRoom: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateRoomRequest"];
            };
        };
        responses: {
            /** @description Made; the room as the caller sees it. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"];
                };
            };
            400: components["responses"]["ValidationFailed"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["ForbiddenOrigin"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /** @description The caller made `ROOM_CREATE_PER_DAY` rooms in the last 24 hours; `Retry-After` says when the first of them is a day old. */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TooManyRoomsError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    archiveRoom: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The room, archived. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"];
                };
            };
            400: components["responses"]["MalformedPath"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["NotOwner"];
            404: components["responses"]["UnknownRoom"];
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    changeRoom: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateRoomRequest"];
            };
        };
        responses: {
            /** @description The room as it is now. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"];
                };
            };
            400: components["responses"]["BadBodyOrPath"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["NotOwner"];
            404: components["responses"]["UnknownRoom"];
            /** @description The room is archived; it changes no more. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RoomArchivedError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    addMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AddMemberRequest"];
            };
        };
        responses: {
            /** @description The user was a member already; nothing changed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MemberAnswer"];
                };
            };
            /** @description Added. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MemberAnswer"];
                };
            };
            400: components["responses"]["BadBodyOrPath"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["NotOwner"];
            /** @description `unknown_room`: no such room, or a private room the caller does not belong to (the same answer); `unknown_user`: nobody has that username. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MemberNotFoundError"];
                };
            };
            /** @description `not_private`: a public room or a conversation, which have no invited members; `room_full`: the room has `ROOM_MAX_MEMBERS`; `room_archived`. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvitationConflictError"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /** @description The caller added `INVITE_RATE` members in the last minute. */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TooManyInvitationsError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    removeMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The room's id: a configured room's (`sala-1`), `r-` and 12 characters for a room someone made, `dm-` and 12 for a conversation.
                 * @example r-u7c2w5n8e3ra
                 */
                id: components["parameters"]["RoomIdPath"];
                /**
                 * @description The member's username (compared regardless of case); the caller's own to leave.
                 * @example bia
                 */
                username: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The membership ended. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["MalformedPath"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["NotOwner"];
            /** @description `unknown_room`: no such room, or a private room or conversation the caller does not belong to (the same answer); `not_a_member`: that user is not a member (or does not exist). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RemovalNotFoundError"];
                };
            };
            /** @description `owner_cannot_leave`: archive the room instead; `direct_conversation`: a conversation keeps its two; `not_private`: others are removed from private rooms only. */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RemovalConflictError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    openConversation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The other person's username (compared regardless of case).
                 * @example bia
                 */
                username: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The conversation existed. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"];
                };
            };
            /** @description The conversation was made. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Room"];
                };
            };
            400: components["responses"]["MalformedPath"];
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["ForbiddenOrigin"];
            /** @description Nobody else has that username (the caller's own included; there is no conversation with oneself). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnknownUserError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        status: "ok";
                    };
                };
            };
        };
    };
    ready: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        status: "ready";
                    };
                };
            };
            /** @description Not ready; `details` names what is wrong (`database`, `uploads`, `cluster`). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotReadyError"];
                };
            };
        };
    };
    webClient: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The client was not built (`npm run build` builds it). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ClientNotBuiltError"];
                };
            };
        };
    };
    webClientAsset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript": string;
                    "text/css": string;
                    "application/json": string;
                };
            };
            /** @description No such asset. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFoundError"];
                };
            };
        };
    };
    docs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The page was not built (`npm run build` builds it). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DocsNotBuiltError"];
                };
            };
        };
    };
    asyncapiDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description An HTML page with every operation, message, payload and example. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    openapiSpec: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/yaml": string;
                };
            };
        };
    };
    asyncapiSpec: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The AsyncAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/yaml": string;
                };
            };
        };
    };
    upload: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    files?: string[];
                };
            };
        };
        responses: {
            /** @description The files, in the order their parts arrived. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        files: components["schemas"]["Attachment"][];
                    };
                };
            };
            /** @description `no_files` (no file part), `empty_file`, `malformed_multipart` (e.g. no boundary), `upload_aborted`. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadRefusedError"];
                };
            };
            401: components["responses"]["Unauthenticated"];
            403: components["responses"]["ForbiddenOrigin"];
            /**
             * @description `payload_too_large`: a file passed `MAX_FILE_BYTES` (answered the moment it does, not after the
             *     rest is read), or there are more than `MAX_FILES` files or too many fields. `quota_exceeded`:
             *     this upload would pass the user's stored-bytes quota (`UPLOAD_QUOTA_BYTES`), counted as the
             *     bytes arrive and shared by the user's concurrent uploads, through any process of a cluster.
             *     Nothing of the request is kept.
             *     A refusal sent before the body is read carries `Connection: close`; the server then discards
             *     what the client still sends for up to 2 s, so the client reads the status instead of a reset.
             */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadTooLargeError"];
                };
            };
            /** @description The body is not `multipart/form-data`. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnsupportedMediaTypeError"];
                };
            };
            /**
             * @description Decided before the body is read: `too_many_uploads`, the user already has
             *     `MAX_CONCURRENT_UPLOADS` uploads under way; `rate_limited`, past `UPLOAD_RATE` upload requests
             *     per minute (every request counts, refused ones too). Both count the user's requests through
             *     every process of a cluster (each process alone while Redis cannot answer).
             */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UploadRateError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            /** @description The upload disk is full (or the user's disk quota on it is, or the database's disk); nothing of the request is kept. */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StorageFullError"];
                };
            };
        };
    };
    download: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description One byte range; several ranges are answered with the whole file.
                 * @example bytes=0-1023
                 */
                Range?: components["parameters"]["Range"];
                /** @description The `ETag` the client holds; the range is served only if it still matches. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description An `ETag` the client has cached; 304 when it matches. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description The name from an upload's `url`. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The whole file. */
            200: {
                headers: {
                    "Content-Disposition": components["headers"]["ContentDisposition"];
                    ETag: components["headers"]["ETag"];
                    "Cache-Control": components["headers"]["CacheForever"];
                    "Content-Length": components["headers"]["ContentLength"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description The requested range of the file. */
            206: {
                headers: {
                    "Content-Range": components["headers"]["ContentRange"];
                    "Content-Disposition": components["headers"]["ContentDisposition"];
                    ETag: components["headers"]["ETag"];
                    "Cache-Control": components["headers"]["CacheForever"];
                    "Content-Length": components["headers"]["ContentLength"];
                    [name: string]: unknown;
                };
                content: {
                    "*/*": string;
                };
            };
            /** @description Not modified (`If-None-Match` matched the `ETag`); no body. */
            304: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No such file (also for any name that is not one the server generated). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NotFoundError"];
                };
            };
            /** @description Nothing asked for exists (the range starts at or past the end of the file, or asks for the last 0 bytes, `bytes=-0`); `Content-Range` gives its size. */
            416: {
                headers: {
                    /** @description `bytes *\/<size>`. */
                    "Content-Range"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RangeNotSatisfiableError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            503: components["responses"]["StorageBusy"];
            507: components["responses"]["StorageFull"];
        };
    };
    downloadHead: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description One byte range; several ranges are answered with the whole file.
                 * @example bytes=0-1023
                 */
                Range?: components["parameters"]["Range"];
                /** @description The `ETag` the client holds; the range is served only if it still matches. */
                "If-Range"?: components["parameters"]["IfRange"];
                /** @description An `ETag` the client has cached; 304 when it matches. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description The name from an upload's `url`. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file exists; its headers. */
            200: {
                headers: {
                    "Content-Disposition": components["headers"]["ContentDisposition"];
                    ETag: components["headers"]["ETag"];
                    "Cache-Control": components["headers"]["CacheForever"];
                    "Content-Length": components["headers"]["ContentLength"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The headers of the requested range. */
            206: {
                headers: {
                    "Content-Range": components["headers"]["ContentRange"];
                    "Content-Length": components["headers"]["ContentLength"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Not modified (`If-None-Match` matched the `ETag`). */
            304: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No such file. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Nothing asked for exists (the range starts at or past the end of the file, or asks for the last 0 bytes, `bytes=-0`); `Content-Range` gives its size. */
            416: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The server failed to look the file up. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The database is locked by another process; try again after `Retry-After`. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The database's disk is full. */
            507: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    websocket: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching protocols, echoing the latest subprotocol offered that the server speaks (`sala.v2`, else `sala.v1`; none when none was offered); the server sends `welcome`, or first waits for `auth` when the upgrade came without credentials. */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /**
             * @description `unsupported_protocol`: the client offered WebSocket subprotocols and none of them is one this
             *     server speaks (`sala.v2`, `sala.v1`); offering none is fine. `bad_handshake`: the opening
             *     handshake is not RFC 6455's (`Sec-WebSocket-Version` other than 13, a missing or malformed
             *     `Sec-WebSocket-Key`, a `Sec-WebSocket-Protocol` that is not a list of distinct tokens).
             */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnsupportedProtocolError"];
                };
            };
            /** @description The credentials sent are not a valid session (expired, revoked, unknown or tampered). An upgrade with none is accepted and signs in with its first frame. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UnauthenticatedError"];
                };
            };
            403: components["responses"]["ForbiddenOrigin"];
            /** @description A plain GET without an upgrade. */
            426: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UpgradeRequiredError"];
                };
            };
            /**
             * @description Too many WebSockets open (or opening) from this client address (`MAX_CONNECTIONS_PER_ADDRESS`,
             *     default 200), whichever accounts they belong to. Refused before the upgrade.
             */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TooManyConnectionsError"];
                };
            };
            500: components["responses"]["StoreFailed"];
            /**
             * @description The server is shutting down (`shutting_down`): connect again shortly, to another instance or to
             *     this one once it is back. Or the session could not be looked up because the database is busy or
             *     unreachable (`storage_busy`, with `Retry-After`), as on every HTTP route.
             */
            503: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UpgradeUnavailableError"];
                };
            };
            507: components["responses"]["StorageFull"];
        };
    };
}
