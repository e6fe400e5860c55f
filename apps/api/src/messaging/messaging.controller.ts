import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { ErrorResponseDto, RETRY_AFTER_HEADER } from '@app/common';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/decorators/current-user.decorator';
import { RequireModule } from '../auth/decorators/require-module.decorator';
import { ChatReadService } from './chat-read.service';
import { ChatPageDto, ChatReadResultDto, MarkChatReadDto } from './dto/chat-response.dto';
import { ListChatsQueryDto, ListMessagesQueryDto } from './dto/list-messages.query.dto';
import { MessagePageDto, MessageResponseDto } from './dto/message-response.dto';
import { SendMessageDto } from './dto/send-message.dto';
import { requestedRange } from './media/media-range';
import { mediaResponseHeaders } from './media/media-response-headers';
import { toChatDto, toMessageDto } from './message.mapper';
import { MessageHistoryService } from './message-history.service';
import { SendMessageUseCase } from './send-message.usecase';

@ApiTags('messages')
@ApiBearerAuth('bearer')
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The whatsapp module is disabled' })
@RequireModule('whatsapp')
@Controller('whatsapp')
export class MessagingController {
  constructor(
    private readonly send: SendMessageUseCase,
    private readonly history: MessageHistoryService,
    private readonly reads: ChatReadService,
  ) {}

  @Post('messages/send')
  @HttpCode(202)
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description:
      'Idempotency-Key: a retry with the same key and request within 24 h returns the original message (header Idempotent-Replayed: true) and sends nothing twice; the same key with another request is a 422',
    example: 'order-42-confirmation',
  })
  @ApiOperation({
    operationId: 'messages_send',
    summary:
      'Queue a text or media message (stored first as pending, then sent by the outbox worker)',
  })
  @ApiAcceptedResponse({
    type: MessageResponseDto,
    headers: {
      'Idempotent-Replayed': {
        description:
          '`true` when an earlier request with the same Idempotency-Key holds the message',
        schema: { type: 'string', enum: ['true'] },
      },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown session' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'Session logged out (SESSION_LOGGED_OUT), or a request with the same Idempotency-Key is still being processed (IDEMPOTENCY_KEY_IN_USE, with Retry-After)',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
  })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'Media over the size limit' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'Idempotency-Key already used with a different request (IDEMPOTENCY_KEY_REUSED)',
  })
  async sendMessage(
    @CurrentUser() user: AuthUser,
    @Body() dto: SendMessageDto,
    @Res({ passthrough: true }) res: Response,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<MessageResponseDto> {
    const { message, replayed } = await this.send.execute(user.organizationId, dto, idempotencyKey);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return toMessageDto(message);
  }

  @Get('messages')
  @ApiOperation({
    operationId: 'messages_list',
    summary: 'Message history, newest first, with filters and page or cursor (`before`) pagination',
  })
  @ApiOkResponse({ type: MessagePageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'sessionName is not a session of the organization and has no history (SESSION_NOT_FOUND)',
  })
  async list(
    @CurrentUser() user: AuthUser,
    @Query() query: ListMessagesQueryDto,
  ): Promise<MessagePageDto> {
    const page = await this.history.list(user.organizationId, query);
    return { ...page, items: page.items.map(toMessageDto) };
  }

  @Get('messages/:id')
  @ApiParam({ name: 'id', description: 'Message id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  @ApiOperation({ operationId: 'messages_get', summary: 'One message' })
  @ApiOkResponse({ type: MessageResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<MessageResponseDto> {
    return toMessageDto(await this.history.get(user.organizationId, id));
  }

  @Get('messages/:id/media')
  @ApiParam({ name: 'id', description: 'Message id', example: '665f1c2b1e6a3e4f7e9d0e0d' })
  @ApiOperation({
    operationId: 'messages_getMedia',
    summary: "The message's media bytes, with its content type",
  })
  @ApiHeader({
    name: 'Range',
    required: false,
    description:
      'One byte range (`bytes=0-1023`, `bytes=1024-`, `bytes=-500`) answers 206 with those bytes; several ranges or a malformed header get the whole media',
    example: 'bytes=0-1023',
  })
  @ApiOkResponse({
    description: "Media bytes, served with the media's own Content-Type (e.g. image/jpeg)",
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiResponse({
    status: 206,
    description: 'The byte range asked for (Content-Range says which)',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'Unknown message, or media not (yet) stored, or its stored bytes deleted (also as this read began)',
  })
  @ApiResponse({
    status: 410,
    type: ErrorResponseDto,
    description:
      'MEDIA_DISCARDED: the message is a send that failed for good, and its media was deleted then (the message keeps its media fields, downloadStatus `discarded`)',
  })
  @ApiResponse({
    status: 416,
    type: ErrorResponseDto,
    description:
      'RANGE_NOT_SATISFIABLE: the range starts past the end (Content-Range: bytes */size)',
  })
  async media(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const media = await this.history.openMedia(user.organizationId, id, (size) =>
      requestedRange(req.headers, size),
    );
    // Written here, not through Nest's reply, which would set 200 over a 206.
    res.status(media.range ? 206 : 200).set(mediaResponseHeaders(media));
    await pipeline(media.stream, res).catch(() => res.destroy()); // the client went away
  }

  @Get('chats')
  @ApiOperation({
    operationId: 'chats_list',
    summary: 'Chats with their last message and unread count',
  })
  @ApiOkResponse({ type: ChatPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description:
      'sessionName is not a session of the organization and has no history (SESSION_NOT_FOUND)',
  })
  async chats(
    @CurrentUser() user: AuthUser,
    @Query() query: ListChatsQueryDto,
  ): Promise<ChatPageDto> {
    const page = await this.history.chatsOf(user.organizationId, query);
    return { ...page, items: page.items.map(toChatDto) };
  }

  @Post('chats/read')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'chats_markRead',
    summary:
      "Mark a chat read: its received messages become read and leave the unread count at once; their read receipts (blue ticks, if the account's privacy settings allow) go to WhatsApp as soon as the session is connected",
  })
  @ApiOkResponse({ type: ChatReadResultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid sessionName or chat' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: 'No such session (SESSION_NOT_FOUND) or no such chat in it (CHAT_NOT_FOUND)',
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'The session is logged out (SESSION_LOGGED_OUT): nothing was marked',
  })
  async markRead(
    @CurrentUser() user: AuthUser,
    @Body() body: MarkChatReadDto,
  ): Promise<ChatReadResultDto> {
    const { marked, chat } = await this.reads.markRead(
      user.organizationId,
      body.sessionName,
      body.chat,
    );
    return { marked, chat: toChatDto(chat) };
  }
}
